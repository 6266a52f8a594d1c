# Cross build for Cortex-M with Debian's gcc-arm-none-eabi and newlib (nano).
#   cmake -S examples/mcu -B build-mcu-m4 \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake -DRPMSG_MCU_CPU=cortex-m4
# RPMSG_MCU_CPU: cortex-m4 (hard float, FPv4-SP) or cortex-m0plus.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No OS to run a test program on: probe compilers with a library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
find_program(RPMSG_ARM_SIZE arm-none-eabi-size)
find_program(RPMSG_ARM_NM arm-none-eabi-nm)

set(RPMSG_MCU_CPU cortex-m4 CACHE STRING "cortex-m4 or cortex-m0plus")
set_property(CACHE RPMSG_MCU_CPU PROPERTY STRINGS cortex-m4 cortex-m0plus)
# Try-compile projects see the CPU too (they do not inherit the cache).
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RPMSG_MCU_CPU)

if(RPMSG_MCU_CPU STREQUAL "cortex-m4")
  set(rpmsg_cpu_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(RPMSG_MCU_CPU STREQUAL "cortex-m0plus")
  set(rpmsg_cpu_flags "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft")
else()
  message(FATAL_ERROR "RPMSG_MCU_CPU must be cortex-m4 or cortex-m0plus, not '${RPMSG_MCU_CPU}'")
endif()

# Sections per function/object so --gc-sections drops what a program does not call.
set(CMAKE_C_FLAGS_INIT "${rpmsg_cpu_flags} -ffunction-sections -fdata-sections")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${rpmsg_cpu_flags} -Wl,--gc-sections --specs=nano.specs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
