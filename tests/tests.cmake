# tests.cmake — unit tests of the embedding API and the fuzz-corpus replayer.
file(GLOB WM_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.c)
foreach(src ${WM_TEST_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE wasmind_core)
  if(name STREQUAL "test_wasi_nn")
    target_link_libraries(${name} PRIVATE wasmind_nn)
  endif()
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${name} COMMAND ${name} ${CMAKE_CURRENT_LIST_DIR})
endforeach()

add_executable(fuzz_replay ${CMAKE_SOURCE_DIR}/fuzz/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_module.c)
target_link_libraries(fuzz_replay PRIVATE wasmind_core)
add_test(NAME fuzz_replay COMMAND fuzz_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus)

# The ONNX loader's fuzz findings, replayed through the same harness.
add_executable(fuzz_onnx_replay ${CMAKE_SOURCE_DIR}/fuzz/fuzz_replay.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_onnx.c)
target_compile_definitions(fuzz_onnx_replay PRIVATE WM_FUZZ_ONE=wm_fuzz_onnx_one)
target_include_directories(fuzz_onnx_replay PRIVATE ${CMAKE_SOURCE_DIR}/src/onnx ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(fuzz_onnx_replay PRIVATE wasmind_onnx)
add_test(NAME fuzz_onnx_replay COMMAND fuzz_onnx_replay ${CMAKE_SOURCE_DIR}/fuzz/corpus_onnx)

# Test modules are written in text form and assembled at build time with wabt's wat2wasm.
find_program(WAT2WASM wat2wasm REQUIRED)
file(GLOB WM_TEST_WATS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/data/*.wat)
set(WM_TEST_WASMS)
foreach(wat ${WM_TEST_WATS})
  get_filename_component(name ${wat} NAME_WE)
  set(out ${CMAKE_BINARY_DIR}/tests/data/${name}.wasm)
  add_custom_command(OUTPUT ${out} COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/tests/data
                     COMMAND ${WAT2WASM} ${wat} -o ${out} DEPENDS ${wat})
  list(APPEND WM_TEST_WASMS ${out})
endforeach()
add_custom_target(test_wasms ALL DEPENDS ${WM_TEST_WASMS})

# Differential tester of the two tiers (interpreter vs AOT): the regression modules on every run;
# tests/aot/diff.sh generates random modules with binaryen's wasm-opt -ttf and checks them in batches.
add_executable(aot_diff ${CMAKE_CURRENT_LIST_DIR}/aot/diff.c)
target_include_directories(aot_diff PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(aot_diff PRIVATE wasmind_core)
set_target_properties(aot_diff PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
file(GLOB WM_AOT_REGRESS_WATS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/aot/regress/*.wat)
set(WM_AOT_REGRESS_WASMS)
foreach(wat ${WM_AOT_REGRESS_WATS})
  get_filename_component(name ${wat} NAME_WE)
  set(out ${CMAKE_BINARY_DIR}/tests/aot-regress/${name}.wasm)
  add_custom_command(OUTPUT ${out} COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/tests/aot-regress
                     COMMAND ${WAT2WASM} ${wat} -o ${out} DEPENDS ${wat})
  list(APPEND WM_AOT_REGRESS_WASMS ${out})
endforeach()
add_custom_target(aot_regress_wasms ALL DEPENDS ${WM_AOT_REGRESS_WASMS})
add_test(NAME aot_diff_regress COMMAND aot_diff ${CMAKE_BINARY_DIR}/tests/aot-regress)
# The no-limits code variant's deadline, interrupt, stack-exhaustion and fuel guarantees (tests/aot/limits.c).
add_executable(aot_limits ${CMAKE_CURRENT_LIST_DIR}/aot/limits.c)
target_include_directories(aot_limits PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(aot_limits PRIVATE wasmind_core)
set_target_properties(aot_limits PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/tests/aot-limits.wasm
                   COMMAND ${WAT2WASM} ${CMAKE_CURRENT_LIST_DIR}/aot/limits.wat -o ${CMAKE_BINARY_DIR}/tests/aot-limits.wasm
                   DEPENDS ${CMAKE_CURRENT_LIST_DIR}/aot/limits.wat)
add_custom_target(aot_limits_wasm ALL DEPENDS ${CMAKE_BINARY_DIR}/tests/aot-limits.wasm)
add_test(NAME aot_limits COMMAND aot_limits ${CMAKE_BINARY_DIR}/tests/aot-limits.wasm)
set_tests_properties(aot_limits PROPERTIES ENVIRONMENT "XDG_CACHE_HOME=${CMAKE_BINARY_DIR}/tests/aot-limits-cache" TIMEOUT 300)
find_program(WASM_OPT wasm-opt)
if(WASM_OPT)
  add_test(NAME aot_diff_random COMMAND ${CMAKE_CURRENT_LIST_DIR}/aot/diff.sh 100 1)
  set_tests_properties(aot_diff_random PROPERTIES ENVIRONMENT "WM_BUILD=${CMAKE_BINARY_DIR}" TIMEOUT 600)
endif()
