/* Keel configuration: the parsed form of the text file handed to Keel as a
 * boot module. The parser is pure (no hypervisor state), so it is compiled
 * both into Keel and into host unit tests. The format is in docs/config.md. */
#ifndef KEEL_CONFIG_H
#define KEEL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 32 /* VM name, including the terminating NUL */
#define CFG_PATH_MAX 128 /* module file name, including NUL */
#define CFG_CMDLINE_MAX 1024 /* guest command line, including NUL */
#define CFG_MAX_VMS 64
#define CFG_MAX_VCPUS 64
#define CFG_MAX_CPUS 256 /* physical CPUs a pinning list may name */

enum cfg_payload {
	CFG_PAYLOAD_MULTIBOOT, /* kernel = FILE: a Multiboot v1 kernel or a Linux bzImage */
	CFG_PAYLOAD_FLAT, /* image = FILE: a flat binary at load-address */
};

struct cfg_vm {
	char name[CFG_NAME_MAX];
	enum cfg_payload payload;
	char file[CFG_PATH_MAX];
	char cmdline[CFG_CMDLINE_MAX];
	char initrd[CFG_PATH_MAX]; /* Linux initramfs module, "" if none */
	uint64_t memory; /* bytes, a multiple of 2 MiB */
	uint64_t load_addr; /* flat images only */
	uint64_t entry; /* flat images only */
	uint32_t vcpus;
	uint32_t weight; /* relative CPU share, default 256 */
	uint32_t cap_pct; /* 0: uncapped; else % of one physical CPU */
	uint64_t cpus[CFG_MAX_CPUS / 64]; /* pinning bitmap; all zero: any CPU */
	bool autostart;
	bool rng; /* a virtio-rng device fed by the host CPU's RDRAND */
	char net[CFG_NAME_MAX]; /* virtual switch of its virtio-net NIC, "" for none */
	uint8_t mac[6]; /* the NIC's MAC; all zero: derived from the VM's name */
	uint16_t vlan; /* 802.1Q VLAN of its switch port (1-4094); 0: untagged */
	bool virtio_console; /* a virtio-console device: the VM's second console */
	char disk[CFG_NAME_MAX]; /* datastore volume of its virtio-blk disk, "" for none */
	uint64_t disk_size; /* bytes: create the volume this big if it is missing */
	char disk_image[CFG_PATH_MAX]; /* boot module to import into a new volume */
	int line; /* line of the [vm NAME] header, for later messages */
};

struct cfg {
	bool poweroff_when_idle; /* power the host off when no VM is left running */
	uint32_t timeslice_us; /* scheduler time slice */
	bool debug_commands; /* shell commands that test crash handling */
	char datastore[16]; /* host block device holding the datastore, "" for none */
	bool datastore_format; /* format that device if it holds no datastore yet */
	char uplink_switch[CFG_NAME_MAX]; /* virtual switch with an uplink, "" for none */
	char uplink_dev[16]; /* the host NIC it is attached to ("eth0") */
	unsigned nvms;
	struct cfg_vm vms[CFG_MAX_VMS];
};

/* Called once per problem found: file name, 1-based line, message. */
typedef void (*cfg_error_fn)(void *ctx, const char *file, int line, const char *msg);

/* Parse TEXT (LEN bytes, not necessarily NUL-terminated) into OUT.
 * Returns the number of errors reported through ERR. A VM section with any
 * error is left out of OUT->vms; errors in [keel] leave that key at its
 * default. Every other valid VM is kept. */
int cfg_parse(const char *text, size_t len, const char *filename, struct cfg *out, cfg_error_fn err,
	      void *ctx);

/* Parses "64M", "1G", "4096K", "2097152": returns false on syntax error or overflow. */
bool cfg_parse_size(const char *s, uint64_t *out);

#endif
