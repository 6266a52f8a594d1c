#!/usr/bin/env bash
# The microcontroller build and its QEMU tests, for CTest (tests/mcu/CMakeLists.txt).
#   mcu_test.sh build <src> <bin>         builds examples/mcu for Cortex-M4 and M0+ (-Werror)
#   mcu_test.sh qemu <bin> <image>        runs <bin>/mcu-m4/<image>.elf on mps2-an386
# Exit 77 (skipped) with the reason when a tool is missing.
set -uo pipefail
mode=$1
skip() { echo "SKIP: $*"; exit 77; }
command -v arm-none-eabi-gcc >/dev/null || skip "arm-none-eabi-gcc not installed (scripts/install-deps)"
case "$mode" in
build)
  src=$2 bin=$3
  for cpu in cortex-m4 cortex-m0plus; do
    d="$bin/mcu-${cpu#cortex-}"
    cmake -S "$src/examples/mcu" -B "$d" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/toolchain-arm-none-eabi.cmake" \
      -DRPMSG_MCU_CPU=$cpu >/dev/null || exit 1
    nice cmake --build "$d" -j2 || exit 1
  done
  ;;
qemu)
  bin=$2 image=$3
  command -v qemu-system-arm >/dev/null || skip "qemu-system-arm not installed (scripts/install-deps)"
  elf="$bin/mcu-m4/$image.elf"
  [ -f "$elf" ] || { echo "no $elf: the mcu_build test builds it"; exit 1; }
  out=$(timeout 240 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 0 ] && grep -qx PASS <<<"$out" || { echo "$image: exit $rc"; exit 1; }
  ;;
*) echo "usage: $0 build|qemu ..."; exit 2 ;;
esac
