/*-------------------------------------------------------------------------
 *
 * whatif.c
 *		Hypothetical indexes for what-if planning (scaffold; see issue 5).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pg_architect.h"

void
whatif_init(void)
{
}
