# libFuzzer target for moat-decoyd's HTTP request parser (outside input).
moat_add_fuzzer(decoyd_http_parse_fuzz
  SOURCES ${MOAT_SRC}/decoyd/decoyd_http_parse_fuzz.c
    ${MOAT_SRC}/decoyd/decoyd_http_parse.c
  INCLUDES ${MOAT_SRC}/decoyd
  CORPUS ${MOAT_SRC}/fuzz/corpus/http_parse)
