#!/usr/bin/env bash
# The microcontroller build and its QEMU tests, for CTest (tests/mcu/CMakeLists.txt).
#   mcu_test.sh build <src> <bin>         builds examples/mcu for Cortex-M4 and M0+ (-Werror)
#   mcu_test.sh qemu <bin> <image>        runs <bin>/mcu-m4/<image>.elf on mps2-an386
#   mcu_test.sh uart <bin> <rpmsg-tool>   the cross-chip test: fp_port_uart.elf (the port
#                                         transport on the board's UART, QEMU -serial pty)
#                                         against `rpmsg ping --uart` on Linux
#   mcu_test.sh edge <bin> <uart_hub>     the routed one: fp_lean_edge.elf (the lean router
#                                         edge) through a hub to a far core, both in uart_hub
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
uart|edge)
  bin=$2 tool=$3
  command -v qemu-system-arm >/dev/null || skip "qemu-system-arm not installed (scripts/install-deps)"
  elf="$bin/mcu-m4/fp_port_uart.elf"
  [ "$mode" = edge ] && elf="$bin/mcu-m4/fp_lean_edge.elf"
  [ -f "$elf" ] || { echo "no $elf: the mcu_build test builds it"; exit 1; }
  [ -x "$tool" ] || { echo "no program at $tool"; exit 1; }
  log=$(mktemp "${TMPDIR:-/tmp}/mcu_uart.$$.XXXXXX")
  qemu-system-arm -M mps2-an386 -nographic -monitor none -serial pty \
    -semihosting-config enable=on,target=native -kernel "$elf" >"$log" 2>&1 &
  qpid=$!
  trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null; rm -f "$log"' EXIT
  for _ in $(seq 600); do grep -q READY "$log" && break; kill -0 $qpid 2>/dev/null || break; sleep 0.1; done
  pty=$(sed -n 's|.*redirected to \(/dev/[^ ]*\) .*|\1|p' "$log" | head -n1)
  grep -q READY "$log" && [ -n "$pty" ] || { cat "$log"; echo "the image did not come up"; exit 1; }
  if [ "$mode" = edge ]; then
    # 2,000 echoes of 1-64 bytes, 4 in flight, through the hub: any lost,
    # repeated, reordered or damaged one fails.
    out=$(timeout 400 "$tool" "$pty" 2000 2>&1)
    rc=$?
    echo "$out"
    cat "$log"
    grep -q '"sent":2000,"received":2000,"errors":0,"send_errors":0,' <<<"$out" && [ $rc -eq 0 ] ||
      { echo "uart_hub: exit $rc"; exit 1; }
    ! grep -q "echo send failed" "$log" || { echo "the microcontroller failed to echo"; exit 1; }
    exit 0
  fi
  # 10,000 echoes, 4 in flight: ping fails on any lost, repeated, reordered or damaged
  # echo. QEMU's UART moves a byte at a time (about 10 KB/s): small messages.
  out=$(timeout 400 "$tool" ping --uart "$pty:115200" --count 10000 --size 16 --window 4 --json 2>&1)
  rc=$?
  echo "$out"
  cat "$log"
  grep -q '"received":10000,"errors":0,' <<<"$out" && [ $rc -eq 0 ] || { echo "ping: exit $rc"; exit 1; }
  ! grep -q "echo send failed" "$log" || { echo "the microcontroller failed to echo"; exit 1; }
  ;;
*) echo "usage: $0 build|qemu|uart ..."; exit 2 ;;
esac
