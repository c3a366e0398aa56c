# Test guests: small freestanding 32-bit kernels Keel runs as VMs (see
# tests/guests/README.md). Included by the top-level Makefile; no 32-bit libc
# or libgcc is needed, only gcc -m32 and ld -m elf_i386.

GUEST_SRC := tests/guests
GUEST_OUT := $(BUILD)/guests

GUEST_CFLAGS := -m32 -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-fno-builtin -nostdlib -mno-sse -mno-mmx -Wall -Wextra -Werror \
	-fno-asynchronous-unwind-tables -fcf-protection=none -I$(GUEST_SRC)/lib -MMD -MP
GUEST_LDFLAGS := -m elf_i386 -nostdlib -static -z max-page-size=4096 -z noexecstack

# Multiboot guests: one .c each, linked with entry.o and the library.
GUEST_NAMES := hello oob spin triple memcheck bench demo fwcfg strio apic virtio_hostile
GUEST_LIB := $(patsubst %,$(GUEST_OUT)/lib/%.o,console xtf cmdline string)

GUESTS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES)) $(GUEST_OUT)/flat.bin \
	$(GUEST_OUT)/flat-mb.bin

guests: $(GUESTS)

# Keep the objects: make would otherwise delete them as intermediates of %.elf.
.SECONDARY: $(patsubst %,$(GUEST_OUT)/%.o,$(GUEST_NAMES) lib/entry flat_entry flat flat_mb)

$(GUEST_OUT)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OUT)/%.elf: $(GUEST_OUT)/%.o $(GUEST_OUT)/lib/entry.o $(GUEST_LIB) \
		$(GUEST_SRC)/guest.ld
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/guest.ld -o $@ $(GUEST_OUT)/lib/entry.o $< \
		$(GUEST_LIB)

# flat: a raw image linked at 0x200000 whose first byte is the entry point.
$(GUEST_OUT)/flat.elf: $(GUEST_OUT)/flat_entry.o $(GUEST_OUT)/flat.o $(GUEST_LIB) \
		$(GUEST_SRC)/flat.ld
	$(LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/flat.ld -o $@ $(GUEST_OUT)/flat_entry.o \
		$(GUEST_OUT)/flat.o $(GUEST_LIB)

$(GUEST_OUT)/flat.bin: $(GUEST_OUT)/flat.elf
	$(OBJCOPY) -O binary $< $@

# flat.bin behind an a.out-kludge Multiboot header, to try it under plain QEMU.
$(GUEST_OUT)/flat_mb.o: $(GUEST_SRC)/flat_mb.S $(GUEST_OUT)/flat.bin
	$(CC) $(GUEST_CFLAGS) -DFLAT_BIN='"$(GUEST_OUT)/flat.bin"' -c $< -o $@

$(GUEST_OUT)/flat-mb.bin: $(GUEST_OUT)/flat_mb.o
	$(OBJCOPY) -O binary -j .flatmb $< $@

-include $(wildcard $(GUEST_OUT)/*.d $(GUEST_OUT)/lib/*.d)
