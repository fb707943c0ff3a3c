# libFuzzer target for moat-decoyd's backdoor parser (outside input).
moat_add_fuzzer(decoyd_backdoor_parse_fuzz
  SOURCES ${MOAT_SRC}/decoyd/decoyd_backdoor_parse_fuzz.c
    ${MOAT_SRC}/decoyd/decoyd_backdoor_parse.c
  INCLUDES ${MOAT_SRC}/decoyd
  CORPUS ${MOAT_SRC}/fuzz/corpus/backdoor_parse)
