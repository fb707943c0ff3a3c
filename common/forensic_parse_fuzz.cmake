# libFuzzer target for the forensic log's verifier (a log file is hostile).
# The parser and the walk are compiled into the target itself, so libFuzzer
# sees their coverage (moatcommon is built without it); keys and fdio come
# from the library.
moat_add_fuzzer(forensic_parse_fuzz
  SOURCES ${MOAT_SRC}/common/forensic_parse_fuzz.c ${MOAT_SRC}/common/forensic_rec.c
    ${MOAT_SRC}/common/forensic_verify.c
  LIBS moatcommon
  CORPUS ${MOAT_SRC}/fuzz/corpus/forensic_parse)
