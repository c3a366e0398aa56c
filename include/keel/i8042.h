/* The PC's 8042 keyboard controller (PS/2 controller: a keyboard port and an
 * auxiliary, mouse, port) as a pure state machine: no VM, no time, no locks
 * (the caller serialises calls). Port 0x60 reads the output buffer and
 * takes data bytes; port 0x64 reads the status register and takes commands.
 *
 * Model: the controller is present and healthy, but nothing is plugged into
 * either port (Keel's guests use serial consoles). So:
 * - Commands run at once: the input buffer is never full (IBF, status bit 1,
 *   reads 0), and a command's reply is in the output buffer when the write
 *   returns. The output buffer holds one byte; a new byte replaces one not
 *   yet read (only command replies and loopbacks ever fill it here).
 * - Every byte sent to a device (port 0x60 with no command waiting, or
 *   after 0xD4) fails as a send to an empty connector does: 0xFE is put in
 *   the output buffer with the timeout bit (status bit 6), and the aux bit
 *   (status bit 5) too for the aux port. Linux's i8042 hands this on as a
 *   timeout and libps2 fails the command at once, so atkbd and psmouse give
 *   up in milliseconds instead of waiting for an ACK that never comes.
 *   The timeout bit goes with that byte: reading or replacing it clears it.
 * - The controller's own tests pass: 0xAA (self-test) answers 0x55 and sets
 *   the system flag; 0xAB and 0xA9 (port tests) answer 0x00, as real
 *   controllers do with nothing attached. 0xD2/0xD3 loop a byte back as if
 *   from the keyboard/aux device, so Linux's aux loopback, MUX and IRQ 12
 *   tests see a plain (non-MUX) controller with an aux port.
 * - Command byte (0x20 reads, 0x60 writes): bit 0 keyboard interrupt, 1 aux
 *   interrupt, 2 system flag (status bit 2 reads it), 3 ignore keylock,
 *   4 keyboard disabled, 5 aux disabled, 6 scan-code translation; bit 7 is
 *   reserved and kept 0. 0xAD/0xAE and 0xA7/0xA8 set/clear bits 4 and 5.
 *   Power-on value 0x45 (keyboard interrupt, system flag, translation), what
 *   a BIOS leaves after POST. The disable bits stop a device's bytes from
 *   reaching the buffer (with no device there are none); a byte sent to a
 *   disabled port still times out.
 * - Output port (0xD0 reads, 0xD1 writes): bit 0 is the CPU reset line
 *   (active low), bit 1 the A20 gate, bits 4/5 read the IRQ 1/12 outputs.
 *   Writing bit 0 = 0 resets the machine: a reset request is made and bit 0
 *   reads 1 again (the pulse is over once the machine restarts). A20 is
 *   recorded (i8042_a20()) but gates nothing here. Power-on value 0xCF:
 *   running, A20 on (as a BIOS leaves it), keyboard lines idle high.
 * - 0xF0-0xFF pulse output-port bits 0-3 for a moment, where the command's
 *   low nibble has a 0: a 0 in bit 0 (0xFE, the usual reboot, or any even
 *   value) makes a reset request; the other pulses end at once and are not
 *   modelled. 0xFF pulses nothing.
 * - 0xC0 reads the input port as 0x80 (keyboard not inhibited; the other
 *   bits are board straps, here 0). Other commands (RAM access, password,
 *   vendor commands) are ignored. A command that expects a data byte (0x60,
 *   0xD1-0xD4) takes the next write to port 0x60; a write to port 0x64
 *   first cancels it. Status bit 3 tells which port was written last
 *   (1 = 0x64), bit 4 (keyboard not locked) reads 1, parity (bit 7) 0.
 * - Interrupts: IRQ 1 is high while the output buffer holds a keyboard (or
 *   controller) byte and command-byte bit 0 is set; IRQ 12 likewise for an
 *   aux byte and bit 1. Both are edge-triggered on a PC: drive the PIC or
 *   IOAPIC from the levels after each access.
 *
 * A reset request is held until i8042_take_reset(): take it after each
 * write. State is the plain struct below, copied whole by snapshots; check
 * one with i8042_state_valid() before use. */
#ifndef KEEL_I8042_H
#define KEEL_I8042_H

#include <stdbool.h>
#include <stdint.h>

#define I8042_PORT_DATA 0x60
#define I8042_PORT_CMD 0x64 /* status on read, command on write */
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

#define I8042_STR_OBF 0x01 /* output buffer full */
#define I8042_STR_IBF 0x02 /* input buffer full: never here */
#define I8042_STR_SYS 0x04 /* system flag (command byte bit 2) */
#define I8042_STR_CMD 0x08 /* last write was to port 0x64 */
#define I8042_STR_UNLOCKED 0x10 /* keyboard not inhibited by the keylock */
#define I8042_STR_AUXDATA 0x20 /* the output buffer holds aux data */
#define I8042_STR_TIMEOUT 0x40
#define I8042_STR_PARITY 0x80

#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_IGNKEYLOCK 0x08
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

#define I8042_OUT_RESET 0x01 /* 0 holds the CPU in reset */
#define I8042_OUT_A20 0x02
#define I8042_OUT_IRQ1 0x10
#define I8042_OUT_IRQ12 0x20

/* The reply that stands for "no device answered". */
#define I8042_NO_DEVICE 0xFE

struct i8042 {
	uint8_t ctr; /* the command byte; bit 7 clear */
	uint8_t outport; /* output port as stored: bit 0 set, bits 4-5 clear */
	uint8_t out; /* the output buffer (kept after it is read) */
	uint8_t status; /* OBF, CMD, AUXDATA, TIMEOUT; the others derived */
	uint8_t pending; /* command waiting for a data byte (0x60, 0xD1-0xD4), or 0 */
	uint8_t reset; /* 1: a reset request not yet taken */
};

/* Power-on state (as a BIOS leaves it): command byte 0x45, output port
 * 0xCF, output buffer empty, no request. */
void i8042_init(struct i8042 *s);
/* Port access for 0x60 and 0x64 (others read 0xFF and ignore writes). */
uint8_t i8042_read(struct i8042 *s, uint16_t port);
void i8042_write(struct i8042 *s, uint16_t port, uint8_t val);
/* True once per reset request (0xD1 with bit 0 clear, 0xF0-0xFE even). */
bool i8042_take_reset(struct i8042 *s);
/* The IRQ 1 (keyboard) and IRQ 12 (aux) output levels. */
bool i8042_irq1_level(const struct i8042 *s);
bool i8042_irq12_level(const struct i8042 *s);
/* The A20 gate (output port bit 1) as last written. */
bool i8042_a20(const struct i8042 *s);
/* True if S is a state this code can run from (every field in range). */
bool i8042_state_valid(const struct i8042 *s);

#endif
