# libFuzzer target for moat-quarantined's parsers of outside input.
moat_add_fuzzer(quarantined_parse_fuzz
  SOURCES ${MOAT_SRC}/quarantined/quarantined_parse_fuzz.c
    ${MOAT_SRC}/quarantined/quarantined_parse.c
  LIBS quarantinedcore
  CORPUS ${MOAT_SRC}/fuzz/corpus/quarantine)
