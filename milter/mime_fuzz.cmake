# libFuzzer target for milter_mime.c (outside input: every message on a hit).
moat_add_fuzzer(milter_mime_fuzz
  SOURCES ${MOAT_SRC}/milter/milter_mime_fuzz.c ${MOAT_SRC}/milter/milter_mime.c
  INCLUDES ${MOAT_SRC}/milter
  LIBS moatcommon PkgConfig::GMIME
  CORPUS ${MOAT_SRC}/fuzz/corpus/mime)
