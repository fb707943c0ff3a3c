# libFuzzer target for moat-decoyd's telnet parser (outside input).
moat_add_fuzzer(decoyd_telnet_parse_fuzz
  SOURCES ${MOAT_SRC}/decoyd/decoyd_telnet_parse_fuzz.c
    ${MOAT_SRC}/decoyd/decoyd_telnet_parse.c
  INCLUDES ${MOAT_SRC}/decoyd
  CORPUS ${MOAT_SRC}/fuzz/corpus/telnet_parse)
