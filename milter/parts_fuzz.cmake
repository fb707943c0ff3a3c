# libFuzzer target for milter_parts.c (outside input: every message walked
# for the scan).  Same seed corpus as milter_mime_fuzz: both read messages.
moat_add_fuzzer(milter_parts_fuzz
  SOURCES ${MOAT_SRC}/milter/milter_parts_fuzz.c ${MOAT_SRC}/milter/milter_parts.c
  INCLUDES ${MOAT_SRC}/milter
  LIBS Threads::Threads
  CORPUS ${MOAT_SRC}/fuzz/corpus/mime)
