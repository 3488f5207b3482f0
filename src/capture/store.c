/*-------------------------------------------------------------------------
 *
 * store.c
 *		The aggregated capture tables: statements and plans in shared hash
 *		tables, their texts in a DSA area, the known-texts filter, eviction,
 *		and the save file under $PGDATA/pg_stat/.
 *
 * Contract and locking (see capture.h for the whole protocol):
 *	- every function here except store_text_known() and the *_textkey()
 *	  helpers runs in a ring consumer or a reader, with ARCHITECT_LOCK_STATS
 *	  held (exclusive for writes, shared for reads);
 *	- store_text_known() is called on the query hot path: it only reads
 *	  atomics of the filter, which has a single writer (the consumer holding
 *	  the STATS lock exclusively).  A stale answer costs at most one
 *	  redundant text event, never a wrong statistic;
 *	- eviction happens here, in the consumer, never in a captured query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/float.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "capture/capture.h"
#include "core/pg_architect.h"

#define STORE_FILE			"pg_stat/pg_architect.stat"
#define STORE_FILE_TMP		"pg_stat/pg_architect.stat.tmp"
#define STORE_FILE_MAGIC	0x50474131	/* "PGA1" */
#define STORE_FILE_VERSION	3
/*
 * Version 2 (pg_architect 0.1) has the same entry layout: 0.2 put
 * PlanEntry.text_userid where version 2 had padding.  Its plans are loaded
 * with no text owner, so their texts (with some role's constants) are shown
 * only to superusers and pg_read_all_stats.
 */
#define STORE_FILE_VERSION_0_1	2

#define KNOWN_PROBES		16
#define DSA_PLACE_SIZE		(1024 * 1024)

static HTAB *statements_htab = NULL;
static HTAB *plans_htab = NULL;
static HTAB *scans_htab = NULL;
static dsa_area *text_area = NULL;

typedef struct StoreFileHeader
{
	uint32		magic;
	uint32		version;
	uint32		statement_entry_size;
	uint32		plan_entry_size;
	uint32		hist_buckets;
	uint32		scan_entry_size;
	int64		nstatements;
	int64		nplans;
	int64		nscans;
	TimestampTz stats_since;
} StoreFileHeader;

static uint64
known_slots(void)
{
	uint64		n = 1;

	while (n < 2 * ((uint64) capture_max_statements + capture_max_plans))
		n <<= 1;
	return n;
}

Size
store_shmem_size(void)
{
	Size		size = 0;

	size = add_size(size, hash_estimate_size(capture_max_statements, sizeof(StatementEntry)));
	size = add_size(size, hash_estimate_size(capture_max_plans, sizeof(PlanEntry)));
	size = add_size(size, hash_estimate_size(capture_max_scans, sizeof(ScanEntry)));
	size = add_size(size, mul_size(known_slots(), sizeof(pg_atomic_uint64)));
	size = add_size(size, DSA_PLACE_SIZE);
	return size;
}

/* Called from capture_shmem_startup with AddinShmemInitLock held. */
void
store_shmem_startup(bool found)
{
	HASHCTL		info;
	bool		known_found;
	bool		place_found;

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(StatementKey);
	info.entrysize = sizeof(StatementEntry);
	statements_htab = ShmemInitHash("pg_architect statements",
									capture_max_statements, capture_max_statements,
									&info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(PlanKey);
	info.entrysize = sizeof(PlanEntry);
	plans_htab = ShmemInitHash("pg_architect plans",
							   capture_max_plans, capture_max_plans,
							   &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(ScanStatKey);
	info.entrysize = sizeof(ScanEntry);
	scans_htab = ShmemInitHash("pg_architect scans",
							   capture_max_scans, capture_max_scans,
							   &info, HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);

	capture_shared->known = ShmemInitStruct("pg_architect known texts",
											known_slots() * sizeof(pg_atomic_uint64),
											&known_found);
	capture_shared->dsa_place = ShmemInitStruct("pg_architect text area",
												DSA_PLACE_SIZE, &place_found);
	if (!found)
	{
		uint64		i;
		dsa_area   *area;

		capture_shared->known_mask = known_slots() - 1;
		for (i = 0; i <= capture_shared->known_mask; i++)
			pg_atomic_init_u64(&capture_shared->known[i], 0);

		/*
		 * The text area lives in place in the main segment and grows into
		 * DSM segments on demand, bounded by pg_architect.text_memory.  The
		 * postmaster pins it and lets go, as pgstat_shmem.c does.
		 */
		capture_shared->dsa_tranche = LWLockNewTrancheId();
		capture_shared->dsa_place_size = DSA_PLACE_SIZE;
		area = dsa_create_in_place(capture_shared->dsa_place, DSA_PLACE_SIZE,
								   capture_shared->dsa_tranche, NULL);
		dsa_set_size_limit(area, Max((Size) capture_text_memory_kb * 1024, (Size) DSA_PLACE_SIZE));
		dsa_pin(area);
		dsa_detach(area);
	}
}

HTAB *
store_statements(void)
{
	return statements_htab;
}

HTAB *
store_plans(void)
{
	return plans_htab;
}

HTAB *
store_scans(void)
{
	return scans_htab;
}

dsa_area *
store_dsa(void)
{
	if (text_area == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		LWLockRegisterTranche(capture_shared->dsa_tranche, "pg_architect_texts");
		text_area = dsa_attach_in_place(capture_shared->dsa_place, NULL);
		dsa_pin_mapping(text_area);
		MemoryContextSwitchTo(old);
	}
	return text_area;
}

/* ---- the known-texts filter ------------------------------------------ */

static inline uint64
mix64(uint64 h)
{
	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h | 1;				/* 0 marks an empty slot */
}

uint64
store_statement_textkey(Oid userid, Oid dbid, uint64 queryid, bool toplevel)
{
	return mix64(queryid ^ mix64(((uint64) userid << 32) | dbid) ^ (toplevel ? 0x9e3779b97f4a7c15 : 0));
}

uint64
store_plan_textkey(Oid dbid, uint64 queryid, uint64 planid)
{
	return mix64(queryid ^ mix64(planid) ^ mix64(dbid) ^ UINT64CONST(0x2545f4914f6cdd1d));
}

bool
store_text_known(uint64 textkey)
{
	uint64		mask = capture_shared->known_mask;
	int			i;

	for (i = 0; i < KNOWN_PROBES; i++)
	{
		uint64		v = pg_atomic_read_u64(&capture_shared->known[(textkey + i) & mask]);

		if (v == textkey)
			return true;
		if (v == 0)
			return false;
	}
	return false;
}

static void
known_add(uint64 textkey)
{
	uint64		mask = capture_shared->known_mask;
	int			i;

	for (i = 0; i < KNOWN_PROBES; i++)
	{
		pg_atomic_uint64 *slot = &capture_shared->known[(textkey + i) & mask];
		uint64		v = pg_atomic_read_u64(slot);

		if (v == textkey)
			return;
		if (v == 0)
		{
			pg_atomic_write_u64(slot, textkey);
			return;
		}
	}
	/* Probe sequence full: the text is simply re-sent now and then. */
}

/* After eviction, rebuild the filter from what is actually stored. */
static void
known_rebuild(void)
{
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	PlanEntry  *p;
	uint64		i;

	for (i = 0; i <= capture_shared->known_mask; i++)
		pg_atomic_write_u64(&capture_shared->known[i], 0);

	hash_seq_init(&seq, statements_htab);
	while ((s = hash_seq_search(&seq)) != NULL)
		if (DsaPointerIsValid(s->text))
			known_add(store_statement_textkey(s->key.userid, s->key.dbid,
											  s->key.queryid, s->key.toplevel));
	hash_seq_init(&seq, plans_htab);
	while ((p = hash_seq_search(&seq)) != NULL)
		if (DsaPointerIsValid(p->text))
			known_add(store_plan_textkey(p->key.dbid, p->key.queryid, p->key.planid));

	/*
	 * Backends cache "known" answers for one generation.  The bump comes
	 * after the rebuild (and is a full barrier): a backend that reads the new
	 * generation probes the finished filter, one that read the old one
	 * cached at most a stale answer that this bump now invalidates.
	 */
	pg_atomic_fetch_add_u32(&capture_shared->known_generation, 1);
}

/* ---- texts ----------------------------------------------------------- */

static dsa_pointer
text_store(const char *text, int32 len)
{
	dsa_pointer ptr;

	ptr = dsa_allocate_extended(store_dsa(), len + 1, DSA_ALLOC_NO_OOM);
	if (!DsaPointerIsValid(ptr))
	{
		pg_atomic_fetch_add_u64(&capture_shared->texts_discarded, 1);
		return InvalidDsaPointer;
	}
	memcpy(dsa_get_address(store_dsa(), ptr), text, len);
	((char *) dsa_get_address(store_dsa(), ptr))[len] = '\0';
	return ptr;
}

static void
text_free(dsa_pointer ptr)
{
	if (DsaPointerIsValid(ptr))
		dsa_free(store_dsa(), ptr);
}

char *
store_fetch_text(dsa_pointer ptr, int32 len)
{
	if (!DsaPointerIsValid(ptr))
		return NULL;
	return pnstrdup(dsa_get_address(store_dsa(), ptr), len);
}

/* ---- aggregation ----------------------------------------------------- */

static StatementEntry *
statement_enter(const StatementKey *key, TimestampTz now)
{
	StatementEntry *e;
	bool		found;

	if (hash_get_num_entries(statements_htab) >= capture_max_statements)
		store_evict_if_needed();
	e = hash_search(statements_htab, key, HASH_ENTER_NULL, &found);
	if (e && !found)
	{
		memset(((char *) e) + sizeof(StatementKey), 0, sizeof(StatementEntry) - sizeof(StatementKey));
		e->min_ms = get_float8_infinity();
		e->first_seen = now;
		e->last_seen = now;
		e->text = InvalidDsaPointer;
	}
	return e;
}

static PlanEntry *
plan_enter(const PlanKey *key, TimestampTz now)
{
	PlanEntry  *e;
	bool		found;

	if (hash_get_num_entries(plans_htab) >= capture_max_plans)
		store_evict_if_needed();
	e = hash_search(plans_htab, key, HASH_ENTER_NULL, &found);
	if (e && !found)
	{
		memset(((char *) e) + sizeof(PlanKey), 0, sizeof(PlanEntry) - sizeof(PlanKey));
		e->min_ms = get_float8_infinity();
		e->first_seen = now;
		e->last_seen = now;
		e->text = InvalidDsaPointer;
	}
	return e;
}

static void
make_keys(Oid userid, Oid dbid, uint64 queryid, bool toplevel, uint64 planid,
		  StatementKey *skey, PlanKey *pkey)
{
	memset(skey, 0, sizeof(*skey));
	skey->userid = userid;
	skey->dbid = dbid;
	skey->queryid = queryid;
	skey->toplevel = toplevel;
	memset(pkey, 0, sizeof(*pkey));
	pkey->dbid = dbid;
	pkey->queryid = queryid;
	pkey->planid = planid;
}

void
store_aggregate_event(const CaptureEvent *ev)
{
	StatementKey skey;
	PlanKey		pkey;
	StatementEntry *s;
	PlanEntry  *p;
	double		ms = ev->elapsed_us / 1000.0;

	make_keys(ev->userid, ev->dbid, ev->queryid, ev->toplevel, ev->planid, &skey, &pkey);
	s = statement_enter(&skey, ev->finished_at);
	p = plan_enter(&pkey, ev->finished_at);

	if (s)
	{
		s->last_seen = Max(s->last_seen, ev->finished_at);
		if (ev->kind == EVENT_ERROR)
			s->errors++;
		else
		{
			s->calls++;
			s->rows += ev->rows;
			s->total_ms += ms;
			s->min_ms = Min(s->min_ms, ms);
			s->max_ms = Max(s->max_ms, ms);
			s->shared_blks_hit += ev->shared_blks_hit;
			s->shared_blks_read += ev->shared_blks_read;
			s->temp_blks_written += ev->temp_blks_written;
			s->wal_bytes += ev->wal_bytes;
			hist_add(&s->hist, ev->elapsed_us);
		}
	}
	if (p)
	{
		p->last_seen = Max(p->last_seen, ev->finished_at);
		if (ev->kind == EVENT_ERROR)
			p->errors++;
		else
		{
			p->calls++;
			p->total_ms += ms;
			p->min_ms = Min(p->min_ms, ms);
			p->max_ms = Max(p->max_ms, ms);
			hist_add(&p->hist, ev->elapsed_us);
		}
	}
	pg_atomic_fetch_add_u64(&capture_shared->events_aggregated, 1);
}

/*
 * A text creates its entry if the execution event has not been aggregated
 * yet (it may sit in a later batch), so that the text is never lost to
 * ordering between the two rings.
 */
void
store_attach_text(const TextEvent *ev)
{
	StatementKey skey;
	PlanKey		pkey;
	TimestampTz now = GetCurrentTimestamp();
	int32		len = Min(ev->len, TEXT_EVENT_MAX - 1);

	make_keys(ev->userid, ev->dbid, ev->queryid, ev->toplevel, ev->planid, &skey, &pkey);
	if (ev->kind == EVENT_QUERY_TEXT)
	{
		StatementEntry *s = statement_enter(&skey, now);

		if (s == NULL)
			pg_atomic_fetch_add_u64(&capture_shared->texts_discarded, 1);
		else if (!DsaPointerIsValid(s->text))
		{
			s->text = text_store(ev->text, len);
			s->text_len = len;
			if (DsaPointerIsValid(s->text))
				known_add(store_statement_textkey(ev->userid, ev->dbid, ev->queryid, ev->toplevel));
		}
	}
	else
	{
		PlanEntry  *p = plan_enter(&pkey, now);

		if (p == NULL)
			pg_atomic_fetch_add_u64(&capture_shared->texts_discarded, 1);
		else if (!DsaPointerIsValid(p->text))
		{
			p->text = text_store(ev->text, len);
			p->text_len = len;
			p->text_userid = ev->userid;
			if (DsaPointerIsValid(p->text))
				known_add(store_plan_textkey(ev->dbid, ev->queryid, ev->planid));
		}
	}
}

/*
 * The shape of a scan observation: everything but the counts.  Two
 * executions with the same shape on the same relation fold into one row.
 */
static uint64
scan_shape(const ScanEvent *ev)
{
	ScanEvent	shape = *ev;

	shape.loops = shape.rows_returned = shape.rows_removed = shape.rows_rechecked_away = 0;
	shape.seen_at = 0;
	shape.queryid = 0;
	return hash_bytes_extended((const unsigned char *) &shape,
							   offsetof(ScanEvent, preds) + shape.npreds * sizeof(ScanPredicate), 0);
}

static ScanEntry *
scan_enter(const ScanStatKey *key, TimestampTz now)
{
	ScanEntry  *e;
	bool		found;

	if (hash_get_num_entries(scans_htab) >= capture_max_scans)
		store_evict_if_needed();
	e = hash_search(scans_htab, key, HASH_ENTER_NULL, &found);
	if (e && !found)
	{
		memset(((char *) e) + sizeof(ScanStatKey), 0, sizeof(ScanEntry) - sizeof(ScanStatKey));
		e->first_seen = now;
		e->last_seen = now;
	}
	return e;
}

void
store_aggregate_scan(const ScanEvent *ev)
{
	ScanStatKey		key;
	ScanEntry  *e;

	memset(&key, 0, sizeof(key));
	key.dbid = ev->dbid;
	key.relid = ev->relid;
	key.queryid = ev->queryid;
	key.shape = scan_shape(ev);
	e = scan_enter(&key, ev->seen_at);
	if (e == NULL)
		return;
	if (e->executions == 0)
		e->sample = *ev;
	e->executions++;
	e->loops += ev->loops;
	e->rows_returned += ev->rows_returned;
	e->rows_removed += ev->rows_removed;
	e->rows_rechecked_away += ev->rows_rechecked_away;
	e->last_seen = Max(e->last_seen, ev->seen_at);
}

/* ---- eviction -------------------------------------------------------- */

typedef enum StoreTable
{
	TABLE_STATEMENTS,
	TABLE_PLANS,
	TABLE_SCANS
} StoreTable;

typedef struct EvictCandidate
{
	void	   *entry;
	TimestampTz last_seen;
	int64		calls;
} EvictCandidate;

static int
evict_cmp(const void *a, const void *b)
{
	const EvictCandidate *x = a;
	const EvictCandidate *y = b;

	/* Oldest first; among equals, the least called first. */
	if (x->last_seen != y->last_seen)
		return x->last_seen < y->last_seen ? -1 : 1;
	if (x->calls != y->calls)
		return x->calls < y->calls ? -1 : 1;
	return 0;
}

/* Remove one entry, freeing its text. */
static void
remove_entry(StoreTable which, void *e)
{
	switch (which)
	{
		case TABLE_STATEMENTS:
			text_free(((StatementEntry *) e)->text);
			hash_search(statements_htab, &((StatementEntry *) e)->key, HASH_REMOVE, NULL);
			break;
		case TABLE_PLANS:
			text_free(((PlanEntry *) e)->text);
			hash_search(plans_htab, &((PlanEntry *) e)->key, HASH_REMOVE, NULL);
			break;
		case TABLE_SCANS:
			hash_search(scans_htab, &((ScanEntry *) e)->key, HASH_REMOVE, NULL);
			break;
	}
}

/*
 * When a table is at 90 % of its capacity or more, drop its least recently
 * seen tenth.  Cost is O(n log n) in the consumer once per tenth of the
 * capacity of new entries, which keeps it amortised and off the hot path.
 */
static bool
evict_table(StoreTable which, HTAB *htab, int capacity, pg_atomic_uint64 *counter)
{
	long		n = hash_get_num_entries(htab);
	long		victims;
	EvictCandidate *cand;
	HASH_SEQ_STATUS seq;
	void	   *e;
	long		i = 0;

	if (n < (long) capacity * 9 / 10)
		return false;

	cand = palloc(sizeof(EvictCandidate) * n);
	hash_seq_init(&seq, htab);
	while (i < n && (e = hash_seq_search(&seq)) != NULL)
	{
		cand[i].entry = e;
		switch (which)
		{
			case TABLE_STATEMENTS:
				cand[i].last_seen = ((StatementEntry *) e)->last_seen;
				cand[i].calls = ((StatementEntry *) e)->calls;
				break;
			case TABLE_PLANS:
				cand[i].last_seen = ((PlanEntry *) e)->last_seen;
				cand[i].calls = ((PlanEntry *) e)->calls;
				break;
			case TABLE_SCANS:
				cand[i].last_seen = ((ScanEntry *) e)->last_seen;
				cand[i].calls = ((ScanEntry *) e)->executions;
				break;
		}
		i++;
	}
	if (i == n)
		hash_seq_term(&seq);
	n = i;
	qsort(cand, n, sizeof(EvictCandidate), evict_cmp);

	victims = Max(n - (long) capacity * 9 / 10 + capacity / 10, 1);
	victims = Min(victims, n);
	for (i = 0; i < victims; i++)
		remove_entry(which, cand[i].entry);
	pg_atomic_fetch_add_u64(counter, victims);
	pfree(cand);
	return true;
}

void
store_evict_if_needed(void)
{
	bool		s = evict_table(TABLE_STATEMENTS, statements_htab, capture_max_statements,
								&capture_shared->statements_evicted);
	bool		p = evict_table(TABLE_PLANS, plans_htab, capture_max_plans,
								&capture_shared->plans_evicted);

	(void) evict_table(TABLE_SCANS, scans_htab, capture_max_scans, &capture_shared->scans_evicted);
	if (s || p)
		known_rebuild();
}

void
store_reset(void)
{
	HASH_SEQ_STATUS seq;
	void	   *e;

	hash_seq_init(&seq, statements_htab);
	while ((e = hash_seq_search(&seq)) != NULL)
		remove_entry(TABLE_STATEMENTS, e);
	hash_seq_init(&seq, plans_htab);
	while ((e = hash_seq_search(&seq)) != NULL)
		remove_entry(TABLE_PLANS, e);
	hash_seq_init(&seq, scans_htab);
	while ((e = hash_seq_search(&seq)) != NULL)
		remove_entry(TABLE_SCANS, e);
	known_rebuild();
	capture_shared->stats_since = GetCurrentTimestamp();
}

/* ---- persistence ------------------------------------------------------ */

static bool
write_all(FILE *f, const void *data, size_t len, pg_crc32c *crc)
{
	COMP_CRC32C(*crc, data, len);
	return fwrite(data, 1, len, f) == len;
}

/*
 * Write everything to a temporary file and rename it into place, so that
 * a crash while saving leaves either the old file or none.  Called by the
 * collector at shutdown, with the STATS lock held shared.
 */
void
store_save_file(void)
{
	FILE	   *f;
	StoreFileHeader hdr;
	HASH_SEQ_STATUS seq;
	StatementEntry *s;
	PlanEntry  *p;
	pg_crc32c	crc;
	bool		ok = true;

	f = AllocateFile(STORE_FILE_TMP, PG_BINARY_W);
	if (f == NULL)
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("could not write pg_architect statistics file \"%s\": %m", STORE_FILE_TMP)));
		return;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = STORE_FILE_MAGIC;
	hdr.version = STORE_FILE_VERSION;
	hdr.statement_entry_size = sizeof(StatementEntry);
	hdr.plan_entry_size = sizeof(PlanEntry);
	hdr.hist_buckets = HIST_BUCKETS;
	hdr.nstatements = hash_get_num_entries(statements_htab);
	hdr.nplans = hash_get_num_entries(plans_htab);
	hdr.scan_entry_size = sizeof(ScanEntry);
	hdr.nscans = hash_get_num_entries(scans_htab);
	hdr.stats_since = capture_shared->stats_since;

	INIT_CRC32C(crc);
	ok = write_all(f, &hdr, sizeof(hdr), &crc);

	hash_seq_init(&seq, statements_htab);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		StatementEntry copy = *s;
		char	   *text = DsaPointerIsValid(s->text) ? dsa_get_address(store_dsa(), s->text) : NULL;

		if (!text)
			copy.text_len = -1;
		copy.text = InvalidDsaPointer;
		ok = ok && write_all(f, &copy, sizeof(copy), &crc);
		if (text)
			ok = ok && write_all(f, text, copy.text_len, &crc);
	}
	hash_seq_init(&seq, plans_htab);
	while ((p = hash_seq_search(&seq)) != NULL)
	{
		PlanEntry	copy = *p;
		char	   *text = DsaPointerIsValid(p->text) ? dsa_get_address(store_dsa(), p->text) : NULL;

		if (!text)
			copy.text_len = -1;
		copy.text = InvalidDsaPointer;
		ok = ok && write_all(f, &copy, sizeof(copy), &crc);
		if (text)
			ok = ok && write_all(f, text, copy.text_len, &crc);
	}
	{
		ScanEntry  *sc;

		hash_seq_init(&seq, scans_htab);
		while ((sc = hash_seq_search(&seq)) != NULL)
			ok = ok && write_all(f, sc, sizeof(ScanEntry), &crc);
	}
	FIN_CRC32C(crc);
	ok = ok && fwrite(&crc, 1, sizeof(crc), f) == sizeof(crc);

	if (FreeFile(f) != 0)
		ok = false;
	if (!ok)
	{
		ereport(LOG, (errcode_for_file_access(),
					  errmsg("could not write pg_architect statistics file \"%s\": %m", STORE_FILE_TMP)));
		unlink(STORE_FILE_TMP);
		return;
	}
	(void) durable_rename(STORE_FILE_TMP, STORE_FILE, LOG);
}

static bool
read_chunk(const char **pos, const char *end, void *dst, size_t len)
{
	if ((size_t) (end - *pos) < len)
		return false;
	memcpy(dst, *pos, len);
	*pos += len;
	return true;
}

/*
 * The text that follows an entry in the file (text_len bytes, or none when
 * text_len < 0): stored if keep, skipped otherwise.  False if the file is
 * too short for it.
 */
static bool
read_entry_text(const char **pos, const char *end, int32 *text_len, dsa_pointer *text, bool keep)
{
	int32		len = *text_len;

	if (len > TEXT_EVENT_MAX || (len >= 0 && end - *pos < len))
		return false;
	*text = (len >= 0 && keep) ? text_store(*pos, len) : InvalidDsaPointer;
	if (len > 0)
		*pos += len;
	*text_len = Max(len, 0);
	return true;
}

/*
 * Load the file saved at the last clean shutdown, then remove it, so that
 * after a crash (no save) the statistics start empty.  Anything unexpected
 * (truncated, wrong version, bad checksum) is logged and ignored: a bad
 * file must never prevent the server or the collector from starting.
 * Caller holds the STATS lock exclusively.
 */
void
store_load_file(void)
{
	FILE	   *f;
	struct stat st;
	char	   *buf;
	const char *pos;
	const char *end;
	StoreFileHeader hdr;
	pg_crc32c	crc;
	pg_crc32c	stored_crc;
	int64		i;
	const char *problem = NULL;

	capture_shared->stats_since = GetCurrentTimestamp();
	if (stat(STORE_FILE, &st) != 0)
		return;
	if (st.st_size < (off_t) (sizeof(StoreFileHeader) + sizeof(pg_crc32c)) || st.st_size > (off_t) MaxAllocHugeSize)
	{
		problem = "unexpected size";
		goto bad;
	}
	f = AllocateFile(STORE_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		problem = "could not open it";
		goto bad;
	}
	buf = palloc_extended(st.st_size, MCXT_ALLOC_HUGE);
	if (fread(buf, 1, st.st_size, f) != (size_t) st.st_size)
	{
		FreeFile(f);
		problem = "could not read it";
		goto bad;
	}
	FreeFile(f);

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, buf, st.st_size - sizeof(pg_crc32c));
	FIN_CRC32C(crc);
	memcpy(&stored_crc, buf + st.st_size - sizeof(pg_crc32c), sizeof(pg_crc32c));
	if (!EQ_CRC32C(crc, stored_crc))
	{
		problem = "checksum mismatch";
		goto bad;
	}
	pos = buf;
	end = buf + st.st_size - sizeof(pg_crc32c);
	read_chunk(&pos, end, &hdr, sizeof(hdr));
	if (hdr.magic != STORE_FILE_MAGIC ||
		(hdr.version != STORE_FILE_VERSION && hdr.version != STORE_FILE_VERSION_0_1) ||
		hdr.statement_entry_size != sizeof(StatementEntry) ||
		hdr.plan_entry_size != sizeof(PlanEntry) || hdr.hist_buckets != HIST_BUCKETS ||
		hdr.scan_entry_size != sizeof(ScanEntry))
	{
		problem = "written by an incompatible version of pg_architect";
		goto bad;
	}
	capture_shared->stats_since = hdr.stats_since;

	for (i = 0; i < hdr.nstatements; i++)
	{
		StatementEntry in;
		StatementEntry *s;
		dsa_pointer text;

		if (!read_chunk(&pos, end, &in, sizeof(in)))
			goto truncated;
		s = statement_enter(&in.key, in.first_seen);
		if (!read_entry_text(&pos, end, &in.text_len, &text, s != NULL))
			goto truncated;
		if (s)
		{
			*s = in;
			s->text = text;
		}
	}
	for (i = 0; i < hdr.nplans; i++)
	{
		PlanEntry	in;
		PlanEntry  *p;
		dsa_pointer text;

		if (!read_chunk(&pos, end, &in, sizeof(in)))
			goto truncated;
		p = plan_enter(&in.key, in.first_seen);
		if (!read_entry_text(&pos, end, &in.text_len, &text, p != NULL))
			goto truncated;
		if (p)
		{
			*p = in;
			p->text = text;
			if (hdr.version == STORE_FILE_VERSION_0_1)
				p->text_userid = InvalidOid;
		}
	}
	for (i = 0; i < hdr.nscans; i++)
	{
		ScanEntry	in;
		ScanEntry  *sc;

		if (!read_chunk(&pos, end, &in, sizeof(in)))
			goto truncated;
		sc = scan_enter(&in.key, in.first_seen);
		if (sc)
			*sc = in;
	}
	known_rebuild();
	pfree(buf);
	unlink(STORE_FILE);
	ereport(LOG, (errmsg("pg_architect loaded %lld statements and %lld plans saved at the last shutdown",
						 (long long) hdr.nstatements, (long long) hdr.nplans)));
	return;

truncated:
	problem = "truncated";
bad:
	ereport(LOG, (errmsg("ignoring pg_architect statistics file \"%s\": %s", STORE_FILE, problem),
				  errdetail("Captured statistics start empty.")));
	store_reset();
	unlink(STORE_FILE);
}
