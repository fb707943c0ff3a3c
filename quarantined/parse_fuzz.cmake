# libFuzzer target for moat-quarantined's parsers of outside input.
# Included by the top CMakeLists.txt when MOAT_FUZZ is ON; needs clang.
#   cmake -DMOAT_FUZZ=ON -DCMAKE_C_COMPILER=clang ..
#   ./quarantined_parse_fuzz -max_total_time=120 ../fuzz/corpus/quarantine
# ctest replays the seed corpus (fuzz.quarantined_parse) as a regression test.
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "MOAT_FUZZ: quarantined_parse_fuzz needs clang, not ${CMAKE_C_COMPILER_ID}")
  return()
endif()

add_executable(quarantined_parse_fuzz ${MOAT_SRC}/quarantined/quarantined_parse_fuzz.c
  ${MOAT_SRC}/quarantined/quarantined_parse.c)
target_compile_options(quarantined_parse_fuzz PRIVATE -fsanitize=fuzzer,address,undefined
  -fno-omit-frame-pointer)
target_link_options(quarantined_parse_fuzz PRIVATE -fsanitize=fuzzer,address,undefined)
target_link_libraries(quarantined_parse_fuzz PRIVATE quarantinedcore)

add_test(NAME fuzz.quarantined_parse
  COMMAND quarantined_parse_fuzz -runs=0 -rss_limit_mb=2048 ${MOAT_SRC}/fuzz/corpus/quarantine)
