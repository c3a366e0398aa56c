# Keel: top-level build. `make` builds the hypervisor and test guests;
# `make run` boots a demo; `make test` runs every test (see README.md).
# Fragments: tests/unit/*.mk (host unit tests), tests/guests/guests.mk.

BUILD ?= build
CC ?= gcc
CC := gcc
LD := ld
OBJCOPY := objcopy
PYTHON ?= python3

WARN := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wvla -Wpointer-arith -Wundef -Wcast-qual -Wwrite-strings -Wmissing-declarations \
	-Wimplicit-fallthrough -Wformat=2

# The hypervisor: freestanding, no red zone, no SSE/x87 (FPU state belongs to guests).
HV_CFLAGS := -std=gnu11 -O2 -g $(WARN) -ffreestanding -fno-builtin -fno-stack-protector \
	-fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -mcmodel=small -mno-mmx -mno-sse \
	-mno-sse2 -fno-omit-frame-pointer -fno-strict-aliasing -fno-common -fcf-protection=none \
	-Iinclude -Iarch/x86/include -MMD -MP
HV_ASFLAGS := -Iinclude -Iarch/x86/include -MMD -MP -D__ASSEMBLY__
HV_LDFLAGS := -nostdlib -static -z max-page-size=4096 -z noexecstack --no-warn-rwx-segments

HV_SRCS := $(wildcard arch/x86/*.c arch/x86/*.S arch/x86/svm/*.c arch/x86/svm/*.S arch/x86/vmx/*.c arch/x86/vmx/*.S \
	core/*.c vdev/*.c lib/*.c drivers/*.c)
HV_OBJS := $(patsubst %,$(BUILD)/hv/%.o,$(HV_SRCS))

# Host-side programs and unit tests.
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -Iinclude -fsanitize=address,undefined \
	-fno-omit-frame-pointer -DKEEL_HOSTED
HOST_LDLIBS := -lcmocka


.PHONY: test-full
.PHONY: all hv guests iso run test unit lint lint-check format bench clean deps linux-guest
all: hv guests

# Install what a fresh Debian 12 machine lacks (no-op when all is there).
deps:
	@bash tools/install-deps

# Boot the demo under QEMU (TCG, AMD-V); the console is the Keel shell.
DEMO ?= demo/demo.conf
DEMO_DISK ?= $(BUILD)/demo-disk.img
run: deps all linux-guest
	@test -f $(DEMO_DISK) || truncate -s 256M $(DEMO_DISK)
	@tools/keel-run $(DEMO) --smp 2 --mem 1G --timeout 0 --serial-input \
		--disk $(DEMO_DISK) --nic user

# Everything: unit tests, lint, integration tests under the emulators.
test: deps
	@$(MAKE) --no-print-directory all unit linux-guest
	@$(PYTHON) tests/run.py

# Everything, with every integration test on Bochs' VT-x model as well.
test-full: deps
	@$(MAKE) --no-print-directory all unit linux-guest
	@$(PYTHON) tests/run.py --bochs all

# Linux guests: Debian's stock kernel (downloaded, never installed) and a
# busybox initramfs whose init runs the keel.cmd= words of its command line.
linux-guest: $(BUILD)/guests/vmlinuz $(BUILD)/guests/linux-initrd.img
$(BUILD)/guests/vmlinuz:
	@tools/fetch-linux $(BUILD)/linux
	@mkdir -p $(dir $@) && cp $(BUILD)/linux/vmlinuz $@
# The virtio drivers are modules in Debian's kernel: the initramfs carries
# them (with their dependencies) and init loads them; ext4 (which mounts
# busybox mke2fs's ext2) is for the virtio disk tests.
LINUX_MODULES := virtio_pci virtio_rng virtio_net virtio_blk virtio_console ext4 crc32c_generic
$(BUILD)/guests/linux-initrd.img: tools/mkinitramfs $(BUILD)/guests/vmlinuz
	@mkdir -p $(dir $@)
	@tools/mkinitramfs $@ --modules-from $(BUILD)/linux/root $(addprefix --module ,$(LINUX_MODULES))

iso: hv
	@tools/mkiso $(DEMO) $(BUILD)/keel.iso
	@echo "  ISO     $(BUILD)/keel.iso (BIOS and UEFI)"

hv: $(BUILD)/keel.elf $(BUILD)/keel32.elf

$(BUILD)/hv/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(HV_CFLAGS) -c $< -o $@

$(BUILD)/hv/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS      $<"
	@$(CC) $(HV_ASFLAGS) -c $< -o $@

$(BUILD)/keel.elf: $(HV_OBJS) arch/x86/keel.ld
	@echo "  LD      $@"
	@$(LD) $(HV_LDFLAGS) -T arch/x86/keel.ld -o $@ $(HV_OBJS)

# QEMU's -kernel loads Multiboot v1 only from ELF32: same image, 32-bit container.
$(BUILD)/keel32.elf: $(BUILD)/keel.elf
	@$(OBJCOPY) -O elf32-i386 $< $@

-include $(wildcard tests/unit/*.mk)
unit: $(UNIT_TESTS)
-include mk/lint.mk
-include mk/bench.mk
-include tests/guests/guests.mk
-include $(HV_OBJS:.o=.d)

clean:
	rm -rf $(BUILD)
