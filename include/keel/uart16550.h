/* The 16550 UART model's saved state: what a snapshot of it holds. Shared
 * with its unit test, which builds corrupt snapshots from it. */
#ifndef KEEL_UART16550_H
#define KEEL_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#define UART_LINE_MAX 200
#define UART_RX_FIFO 16

/* Everything a snapshot needs, and nothing else. */
struct uart16550_state {
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	uint8_t rx[UART_RX_FIFO];
	uint8_t rx_head, rx_count;
	uint16_t line_len;
	bool wrapped; /* the last flush split a long line: its newline is spent */
	bool thre_pending; /* transmitter-empty interrupt condition */
	char line[UART_LINE_MAX];
};

#endif
