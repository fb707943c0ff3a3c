# libFuzzer target for milter_parts.c (outside input: every message walked
# for the scan).  Included by the top CMakeLists.txt when MOAT_FUZZ is ON.
#   ./milter_parts_fuzz -max_total_time=120 ../fuzz/corpus/mime
# ctest replays the seed corpus (fuzz.milter_parts) as a regression test.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "MOAT_FUZZ: milter_parts_fuzz needs clang, not ${CMAKE_C_COMPILER_ID}")
  return()
endif()

add_executable(milter_parts_fuzz ${MOAT_SRC}/milter/milter_parts_fuzz.c
  ${MOAT_SRC}/milter/milter_parts.c)
target_include_directories(milter_parts_fuzz PRIVATE ${MOAT_SRC}/milter)
target_compile_options(milter_parts_fuzz PRIVATE -fsanitize=fuzzer,address,undefined
  -fno-omit-frame-pointer)
target_link_options(milter_parts_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(milter_parts_fuzz PRIVATE Threads::Threads)

add_test(NAME fuzz.milter_parts
  COMMAND milter_parts_fuzz -runs=0 -rss_limit_mb=2048 ${MOAT_SRC}/fuzz/corpus/mime)
