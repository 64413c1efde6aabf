# The two emulated boards, for the shell scripts of port/baremetal/ and
# tools/device/ (sourced). board_flags BOARD sets CROSS (the toolchain
# prefix), ARCH_FLAGS (what the ESP32-class silicon would be built with)
# and QEMU (the system emulator and machine).
board_flags() {
    case $1 in
    cm4)
        # MPS2 AN386: Cortex-M4, CMSDK UART and timers.
        CROSS=arm-none-eabi
        ARCH_FLAGS="-mcpu=cortex-m4 -mthumb -Os"
        QEMU="qemu-system-arm -M mps2-an386"
        ;;
    rv32)
        # QEMU's virt board with a 32-bit core, built for the ESP32-C3's
        # instruction set (RV32IMC).
        CROSS=riscv64-unknown-elf
        ARCH_FLAGS="-march=rv32imc -mabi=ilp32 -Os"
        QEMU="qemu-system-riscv32 -M virt -cpu rv32 -bios none"
        ;;
    *)
        echo "unknown board '$1' (cm4 or rv32)" >&2
        return 2
        ;;
    esac
}
