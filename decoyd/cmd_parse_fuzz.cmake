# libFuzzer target for moat-decoyd's FTP/SMTP command-line parser (outside input).
moat_add_fuzzer(decoyd_cmd_parse_fuzz
  SOURCES ${MOAT_SRC}/decoyd/decoyd_cmd_parse_fuzz.c
    ${MOAT_SRC}/decoyd/decoyd_cmd_parse.c
  INCLUDES ${MOAT_SRC}/decoyd
  CORPUS ${MOAT_SRC}/fuzz/corpus/cmd_parse)
