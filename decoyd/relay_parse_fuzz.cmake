# libFuzzer target for the keeper's reading of the loop process's records
# (the loop may be an intruder's): the record check, then alert facts into
# mails that must stay 7-bit with our headers only.
moat_add_fuzzer(decoyd_relay_parse_fuzz
  SOURCES ${MOAT_SRC}/decoyd/decoyd_relay_parse_fuzz.c
    ${MOAT_SRC}/decoyd/decoyd_relay_parse.c
    ${MOAT_SRC}/decoyd/decoyd_alert.c
    ${MOAT_SRC}/common/utf8.c
  INCLUDES ${MOAT_SRC}/decoyd ${MOAT_SRC}/common
  CORPUS ${MOAT_SRC}/fuzz/corpus/relay_parse)
