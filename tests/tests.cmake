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
