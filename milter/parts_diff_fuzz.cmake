# Differential libFuzzer target: milter_parts.c's leaves against GMime's
# (tests/differential/gleaves.c).  Own corpus, seeded from the MIME corpus
# and the golden walker messages; what a session finds is committed there.
moat_add_fuzzer(milter_parts_diff_fuzz
  SOURCES ${MOAT_SRC}/milter/milter_parts_diff_fuzz.c ${MOAT_SRC}/milter/milter_parts.c
    ${MOAT_SRC}/tests/differential/gleaves.c
  INCLUDES ${MOAT_SRC}/milter ${MOAT_SRC}/tests/differential
  LIBS PkgConfig::GMIME Threads::Threads
  CORPUS ${MOAT_SRC}/fuzz/corpus/parts_diff)
