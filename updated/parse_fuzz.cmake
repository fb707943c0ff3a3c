# libFuzzer target for moat-updated's parsers of outside input.
moat_add_fuzzer(updated_parse_fuzz
  SOURCES ${MOAT_SRC}/updated/updated_parse_fuzz.c
    ${MOAT_SRC}/updated/updated_parse.c
  INCLUDES ${MOAT_SRC}/updated
  CORPUS ${MOAT_SRC}/fuzz/corpus/updated_parse)
