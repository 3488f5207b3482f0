/*-------------------------------------------------------------------------
 *
 * findings.c
 *		Settings of the findings register (sql/parts/70..85), which is
 *		written in SQL.
 *
 * Contract: owns the GUCs that the SQL findings read with
 * current_setting(name, true).  They must be defined in C because capture
 * reserves the "pg_architect" prefix (MarkGUCPrefixReserved), after which
 * a placeholder could not be SET.  When the library is not loaded in a
 * session the SQL falls back to the same defaults documented here, so the
 * register behaves alike with and without a preload.
 *
 * No shared state, no locking; called once from _PG_init.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "core/pg_architect.h"

/*
 * Shortest statistics window, in seconds, over which an index with no scan
 * is called unused.  Below it the verdict is "insufficient evidence": a
 * weekly job or a month-end report must have had a chance to run.
 */
static int	findings_min_unused_window_s = 7 * 86400;

void
findings_init(void)
{
	static bool done = false;

	if (done)
		return;
	done = true;

	DefineCustomIntVariable("pg_architect.min_unused_window",
							"Shortest statistics window after which an index never scanned is reported as unused.",
							"Below it the index is reported with \"insufficient evidence\" and no DROP is proposed.",
							&findings_min_unused_window_s,
							7 * 86400, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
}
