# onnx.cmake — built-in ONNX engine: static library wasmind_onnx, the conformance runner wasmind-onnx-test and
# its tests. Included from the top-level CMakeLists.txt.
set(WM_ONNX_DIR ${CMAKE_CURRENT_LIST_DIR})
file(GLOB WM_ONNX_KERNEL_SOURCES CONFIGURE_DEPENDS ${WM_ONNX_DIR}/../kernels/*.c)
add_library(wasmind_onnx STATIC
  ${WM_ONNX_DIR}/pb.c ${WM_ONNX_DIR}/model.c ${WM_ONNX_DIR}/graph.c ${WM_ONNX_DIR}/optimize.c ${WM_ONNX_DIR}/infer.c ${WM_ONNX_KERNEL_SOURCES})
target_include_directories(wasmind_onnx PUBLIC ${WM_ONNX_DIR})
target_link_libraries(wasmind_onnx PUBLIC m)

add_executable(wasmind-onnx-test ${WM_ONNX_DIR}/tool_test.c)
target_link_libraries(wasmind-onnx-test PRIVATE wasmind_onnx)

add_executable(test_onnx_hostile ${WM_ONNX_DIR}/../../tests/onnx/test_onnx_hostile.c)
target_link_libraries(test_onnx_hostile PRIVATE wasmind_onnx)

# Shape inference and cancellation. Its guests: tests/data/wasi_nn.wat (built by tests/tests.cmake), and
# tests/onnx/infer/deadline_guest.wat for `wasmind run --timeout`.
find_package(Threads REQUIRED)
add_executable(test_onnx_infer ${WM_ONNX_DIR}/../../tests/onnx/test_infer.c)
target_link_libraries(test_onnx_infer PRIVATE wasmind_nn Threads::Threads)
find_program(WM_WAT2WASM wat2wasm)
if(WM_WAT2WASM)
  set(WM_DEADLINE_WAT ${WM_ONNX_DIR}/../../tests/onnx/infer/deadline_guest.wat)
  set(WM_DEADLINE_WASM ${CMAKE_BINARY_DIR}/tests/onnx/deadline_guest.wasm)
  add_custom_command(OUTPUT ${WM_DEADLINE_WASM} COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/tests/onnx
                     COMMAND ${WM_WAT2WASM} ${WM_DEADLINE_WAT} -o ${WM_DEADLINE_WASM} DEPENDS ${WM_DEADLINE_WAT})
  add_custom_target(onnx_deadline_guest ALL DEPENDS ${WM_DEADLINE_WASM})
endif()

set(WM_ONNX_TESTSUITE "${CMAKE_SOURCE_DIR}/../shared/testsuite/onnx" CACHE PATH "ONNX backend test data (node/, simple/, light/, ...)")
if(EXISTS ${WM_ONNX_TESTSUITE}/node)
  # Folders that pass completely; node/ still has known failures, so it is run by hand (see tests/onnx/README).
  foreach(suite pytorch-converted pytorch-operator light simple)
    add_test(NAME onnx_${suite} COMMAND wasmind-onnx-test ${WM_ONNX_TESTSUITE}/${suite})
  endforeach()
  add_test(NAME onnx_hostile COMMAND test_onnx_hostile
           ${WM_ONNX_TESTSUITE}/node/test_conv_with_strides_padding/model.onnx
           ${WM_ONNX_TESTSUITE}/light/light_squeezenet.onnx
           ${WM_ONNX_TESTSUITE}/node/test_resize_upsample_scales_cubic/model.onnx)
  add_test(NAME onnx_infer COMMAND test_onnx_infer ${WM_ONNX_TESTSUITE} ${CMAKE_SOURCE_DIR}/tests/onnx/infer
           ${CMAKE_BINARY_DIR}/models)
endif()

# Per-CPU kernels: each ISA's file is compiled for that ISA and only called after a run-time CPU check.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64|i.86")
  set_source_files_properties(${WM_ONNX_DIR}/../kernels/cpu_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma")
endif()
if(CMAKE_BUILD_TYPE STREQUAL "Release")
  target_compile_options(wasmind_onnx PRIVATE -O3)   # the kernels' plain loops need the vectoriser
endif()
