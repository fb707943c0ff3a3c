# libFuzzer target for moat-updated's vendor package manifest parser.
moat_add_fuzzer(updated_vendor_manifest_fuzz
  SOURCES ${MOAT_SRC}/updated/updated_vendor_manifest_fuzz.c
    ${MOAT_SRC}/updated/updated_vendor_manifest.c
  LIBS updatedcore
  CORPUS ${MOAT_SRC}/fuzz/corpus/vendor_manifest)
