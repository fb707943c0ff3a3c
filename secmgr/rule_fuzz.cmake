# libFuzzer target for moat-secmgr's rule parser and engine (rows of
# correlation_rules and events are outside input).
moat_add_fuzzer(secmgr_rule_fuzz
  SOURCES ${MOAT_SRC}/secmgr/secmgr_rule_fuzz.c ${MOAT_SRC}/secmgr/secmgr_rule.c
    ${MOAT_SRC}/secmgr/secmgr_engine.c
  INCLUDES ${MOAT_SRC}/secmgr
  LIBS moatcommon
  CORPUS ${MOAT_SRC}/fuzz/corpus/secmgr_rule)
