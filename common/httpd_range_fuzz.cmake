# libFuzzer target for the Range parser of httpd's file replies.
moat_add_fuzzer(httpd_range_fuzz
  SOURCES ${MOAT_SRC}/common/httpd_range_fuzz.c
  LIBS moatcommon
  CORPUS ${MOAT_SRC}/fuzz/corpus/httpd_range)
