# libFuzzer target for milter_mime.c (outside input: every message on a hit).
# Included by the top CMakeLists.txt when MOAT_FUZZ is ON; needs clang.
#   cmake -DMOAT_FUZZ=ON -DCMAKE_C_COMPILER=clang ..
#   ./milter_mime_fuzz -max_total_time=120 ../fuzz/corpus/mime
# ctest replays the seed corpus (fuzz.milter_mime) as a regression test.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "MOAT_FUZZ: milter_mime_fuzz needs clang, not ${CMAKE_C_COMPILER_ID}")
  return()
endif()

add_executable(milter_mime_fuzz ${MOAT_SRC}/milter/milter_mime_fuzz.c
  ${MOAT_SRC}/milter/milter_mime.c)
target_include_directories(milter_mime_fuzz PRIVATE ${MOAT_SRC}/milter)
target_compile_options(milter_mime_fuzz PRIVATE -fsanitize=fuzzer,address,undefined
  -fno-omit-frame-pointer)
target_link_options(milter_mime_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(milter_mime_fuzz PRIVATE moatcommon PkgConfig::GMIME)

add_test(NAME fuzz.milter_mime
  COMMAND milter_mime_fuzz -runs=0 -rss_limit_mb=2048 ${MOAT_SRC}/fuzz/corpus/mime)
