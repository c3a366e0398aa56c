/* VMX control fields from the capability MSRs (Intel SDM vol. 3, A.3-A.5):
 * pure arithmetic, unit-tested on the host (tests/unit/test_vmx_caps.c). */
#include "vmcs.h"

uint32_t vmx_adjust_ctls(uint64_t cap, uint32_t want, uint32_t need, uint32_t *missing)
{
	uint32_t must_be_one = (uint32_t)cap;
	uint32_t may_be_one = (uint32_t)(cap >> 32);

	*missing = need & ~may_be_one;
	return (want & may_be_one) | must_be_one;
}
