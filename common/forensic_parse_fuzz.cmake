# libFuzzer target for the forensic log's verifier (a log file is hostile).
moat_add_fuzzer(forensic_parse_fuzz
  SOURCES ${MOAT_SRC}/common/forensic_parse_fuzz.c
  LIBS moatcommon
  CORPUS ${MOAT_SRC}/fuzz/corpus/forensic_parse)
