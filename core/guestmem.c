/* Access to guest-physical memory on a guest's behalf. Every access is
 * checked against the VM's own slots, so a hostile address or length can
 * reach nothing but that VM's RAM. */
#include <keel/string.h>
#include <keel/vm.h>

/* A host pointer for [gpa, gpa+len) if it lies in one RAM chunk, else NULL. */
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < vm->nslots; i++) {
		const struct mem_slot *s = &vm->slot[i];
		if (gpa < s->gpa || gpa - s->gpa >= s->size)
			continue;
		uint64_t off = gpa - s->gpa;
		uint64_t in_chunk = off & (CHUNK_SIZE - 1);
		if (len > CHUNK_SIZE - in_chunk)
			return NULL;
		return (void *)(s->chunk[off / CHUNK_SIZE] + in_chunk);
	}
	return NULL;
}

bool guest_range_ok(struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return false;
	for (unsigned i = 0; i < vm->nslots; i++) {
		const struct mem_slot *s = &vm->slot[i];
		if (gpa >= s->gpa && gpa - s->gpa <= s->size && len <= s->size - (gpa - s->gpa))
			return true;
	}
	return false;
}

static int copy_guest(struct vm *vm, uint64_t gpa, void *host, uint64_t len, bool to_guest)
{
	uint8_t *h = host;

	if (gpa + len < gpa)
		return -1;
	while (len) {
		uint64_t n = CHUNK_SIZE - (gpa & (CHUNK_SIZE - 1));
		if (n > len)
			n = len;
		void *g = gpa_to_hva(vm, gpa, n);
		if (!g)
			return -1;
		if (to_guest)
			memcpy(g, h, n);
		else
			memcpy(h, g, n);
		gpa += n;
		h += n;
		len -= n;
	}
	return 0;
}

int copy_to_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	return copy_guest(vm, gpa, (void *)(uintptr_t)src, len, true);
}

int copy_from_guest(struct vm *vm, void *dst, uint64_t gpa, uint64_t len)
{
	return copy_guest(vm, gpa, dst, len, false);
}
