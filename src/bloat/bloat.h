/*-------------------------------------------------------------------------
 *
 * bloat.h
 *		What the two bloat files share: opening a relation for bloat work
 *		with the checks every entry point makes (existence, privilege,
 *		relation kind, other sessions' temp tables), always under
 *		AccessShareLock and never anything stronger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ARCHITECT_BLOAT_H
#define ARCHITECT_BLOAT_H

#include "postgres.h"

#include "utils/relcache.h"

/* bloat_measure.c */
extern Relation bloat_open_relation(Oid relid, bool wait_for_lock);
extern bool bloat_relation_is_btree(Relation rel);

#endif							/* ARCHITECT_BLOAT_H */
