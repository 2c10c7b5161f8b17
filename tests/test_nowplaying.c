/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_nowplaying — the state behind /api/nowplaying, /api/events and
 * /metrics: a track becomes "now playing" when an output reports its
 * marker heard (not when the mixer placed it), with started_at, elapsed
 * and remaining from that moment and the transition that brought it in;
 * history newest first and bounded; transitions released by the stream
 * clock; the SSE ring with ids, replay after a cursor, a resync for a
 * cursor out of the ring, whole events only; the Prometheus text; the
 * listener count; and the same from several threads at once (TSan).
 */
#include "autoconfig.h"

#include "nowplaying.h"
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>

static struct np_track track(int64_t id, const char *artist,
			     const char *title, double dur)
{
	struct np_track t;
	memset(&t, 0, sizeof(t));
	t.id = id;
	snprintf(t.artist, sizeof(t.artist), "%s", artist);
	snprintf(t.title, sizeof(t.title), "%s", title);
	snprintf(t.text, sizeof(t.text), "%s - %s", artist, title);
	t.duration_s = dur;
	t.analysed = true;
	t.bpm = 124;
	snprintf(t.key, sizeof(t.key), "A minor");
	snprintf(t.camelot, sizeof(t.camelot), "8A");
	t.loudness_lufs = -9.5;
	return t;
}

static struct np_transition trans(int64_t from, int64_t to, uint64_t start,
				  uint64_t marker)
{
	struct np_transition tr;
	memset(&tr, 0, sizeof(tr));
	snprintf(tr.kind, sizeof(tr.kind), "beatmatched");
	snprintf(tr.reason, sizeof(tr.reason), "both grids hold");
	tr.bars = 16;
	tr.bpm_from = 122;
	tr.bpm_to = 124;
	tr.duration_s = 31;
	tr.from_id = from;
	tr.to_id = to;
	tr.start_frame = start;
	tr.marker_frame = marker;
	return tr;
}

static json_t *state(struct nowplaying *np, double wall)
{
	char *text = nowplaying_json(np, wall);
	CHECK(text);
	json_error_t err;
	json_t *root = json_loads(text, 0, &err);
	free(text);
	CHECK(root);
	return root;
}

static double num(json_t *o, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", path);
	json_t *v = o;
	for (char *save = NULL, *k = strtok_r(buf, ".", &save); k;
	     k = strtok_r(NULL, ".", &save))
		v = json_object_get(v, k);
	CHECK(json_is_number(v));
	return json_number_value(v);
}

static const char *str(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(json_object_get(o, a), b);
	CHECK(json_is_string(v));
	return json_string_value(v);
}

/* All events after *cursor, concatenated. */
static char *drain(struct nowplaying *np, uint64_t *cursor)
{
	static char buf[1 << 20];
	size_t used = 0;
	for (;;) {
		long n = nowplaying_sse_next(np, cursor, buf + used,
					     sizeof(buf) - used - 1, 1000);
		CHECK(n >= 0);
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	return buf;
}

static void test_flow(void)
{
	struct np_station st;
	memset(&st, 0, sizeof(st));
	snprintf(st.name, sizeof(st.name), "Test FM");
	st.n_outputs = 1;
	snprintf(st.outputs[0].name, sizeof(st.outputs[0].name), "mp3");
	snprintf(st.outputs[0].mount, sizeof(st.outputs[0].mount), "/f.mp3");
	snprintf(st.outputs[0].format, sizeof(st.outputs[0].format), "mp3");
	snprintf(st.outputs[0].listen_url, sizeof(st.outputs[0].listen_url),
		 "http://127.0.0.1:8000/f.mp3");
	struct nowplaying *np = nowplaying_create(&st);
	CHECK(np);

	/* Nothing heard yet: offline, no event. */
	json_t *r = state(np, 100);
	CHECK(json_is_null(json_object_get(r, "now_playing")));
	CHECK(json_is_false(json_object_get(r, "is_online")));
	CHECK(json_is_null(json_object_get(json_object_get(r, "listeners"),
					   "current")));
	CHECK_STR(str(r, "station", "listen_url"),
		  "http://127.0.0.1:8000/f.mp3");
	json_decref(r);
	CHECK_INT(nowplaying_last_event_id(np), ==, 0);

	/* The mixer places A's marker at 0: pending until heard. */
	struct np_track a = track(7, "Artist A", "Alpha", 200);
	nowplaying_mixer_track(np, 0, &a);
	nowplaying_tick(np, 10.0);
	r = state(np, 1000);
	CHECK(json_is_null(json_object_get(r, "now_playing")));
	json_decref(r);
	CHECK_INT(nowplaying_last_event_id(np), ==, 0);

	/* An output hears it at wall 1000.25 (monotonic 10.25). */
	nowplaying_heard(np, 0, 7, 1000.25, 10.25);
	CHECK_INT(nowplaying_current_id(np), ==, 7);
	CHECK(nowplaying_wait(np, 0, 1) == 0); /* a track is due */
	nowplaying_tick(np, 10.3);
	CHECK_INT(nowplaying_last_event_id(np), ==, 1);
	/* A second output's report of the same marker changes nothing. */
	nowplaying_heard(np, 0, 7, 1000.4, 10.4);
	nowplaying_tick(np, 10.5);
	CHECK_INT(nowplaying_last_event_id(np), ==, 1);

	r = state(np, 1010.25);
	json_t *now = json_object_get(r, "now_playing");
	CHECK(now);
	CHECK_NEAR(num(now, "started_at"), 1000.25, 1e-9);
	CHECK_INT(num(now, "played_at"), ==, 1000);
	CHECK_NEAR(num(now, "elapsed"), 10, 1e-6);
	CHECK_NEAR(num(now, "remaining"), 190, 1e-6);
	CHECK_NEAR(num(now, "duration"), 200, 1e-9);
	CHECK_STR(str(now, "song", "title"), "Alpha");
	CHECK_STR(str(now, "song", "text"), "Artist A - Alpha");
	CHECK_STR(str(now, "song", "key"), "A minor");
	CHECK_NEAR(num(now, "song.bpm"), 124, 1e-9);
	CHECK_INT(num(now, "song.id"), ==, 7);
	CHECK(json_is_null(json_object_get(now, "transition")));
	CHECK(json_is_true(json_object_get(r, "is_online")));
	json_decref(r);

	/* Next tracks, a plan event. */
	struct np_next next[2];
	memset(next, 0, sizeof(next));
	next[0].track = track(8, "Artist B", "Beta", 180);
	next[0].planned = true;
	snprintf(next[0].kind, sizeof(next[0].kind), "beatmatched");
	next[0].bars = 16;
	next[1].track = track(9, "Artist C", "Gamma", 240);
	nowplaying_set_next(np, next, 2, true);
	CHECK_INT(nowplaying_last_event_id(np), ==, 2);
	nowplaying_set_next(np, next, 2, false);
	CHECK_INT(nowplaying_last_event_id(np), ==, 2);

	/* A -> B: a transition from frame 441000 (10 s), B's marker at
	 * 1102500 (25 s). The stream clock (anchor: frame 0 at mono 10.25)
	 * releases the transition at mono 20.25, not before. */
	struct np_track b = next[0].track;
	struct np_transition tr = trans(7, 8, 441000, 1102500);
	nowplaying_mixer_transition(np, &tr);
	nowplaying_mixer_track(np, 1102500, &b);
	nowplaying_tick(np, 20.2);
	CHECK_INT(nowplaying_last_event_id(np), ==, 2);
	nowplaying_tick(np, 20.3);
	CHECK_INT(nowplaying_last_event_id(np), ==, 3);
	/* Still A until B's marker is heard. */
	CHECK_INT(nowplaying_current_id(np), ==, 7);
	nowplaying_heard(np, 1102500, 8, 1025.3, 35.3);
	nowplaying_tick(np, 35.3);
	CHECK_INT(nowplaying_last_event_id(np), ==, 4);
	r = state(np, 1030.3);
	now = json_object_get(r, "now_playing");
	CHECK_INT(num(now, "song.id"), ==, 8);
	CHECK_NEAR(num(now, "elapsed"), 5, 1e-6);
	json_t *t = json_object_get(now, "transition");
	CHECK_STR(json_string_value(json_object_get(t, "kind")),
		  "beatmatched");
	CHECK_INT(num(t, "bars"), ==, 16);
	CHECK_INT(num(t, "from_id"), ==, 7);
	CHECK_NEAR(num(t, "position_s"), 10, 1e-9);
	CHECK_NEAR(num(t, "marker_position_s"), 25, 1e-9);
	/* History: A, heard for 25.05 s. B left the next tracks. */
	json_t *h = json_object_get(r, "song_history");
	CHECK_INT(json_array_size(h), ==, 1);
	CHECK_INT(num(json_array_get(h, 0), "song.id"), ==, 7);
	CHECK_NEAR(num(json_array_get(h, 0), "duration"), 25.05, 1e-6);
	json_t *nx = json_object_get(r, "playing_next");
	CHECK_INT(json_array_size(nx), ==, 1);
	CHECK_INT(num(json_array_get(nx, 0), "song.id"), ==, 9);
	json_decref(r);

	/* The events: ids 1..4, in order, whole; a replay from 2. */
	uint64_t cur = 0;
	char *ev = drain(np, &cur);
	CHECK_INT(cur, ==, 4);
	CHECK(strstr(ev, "id: 1\nevent: track\ndata: {") == ev);
	CHECK(strstr(ev, "id: 2\nevent: plan\ndata: {\"playing_next\":["));
	const char *e3 = strstr(ev, "id: 3\nevent: transition\ndata: {");
	CHECK(e3);
	/* Released on the stream clock: 10 s after A's start. */
	CHECK(strstr(e3, "\"started_at\":1010.25"));
	CHECK(strstr(ev, "id: 4\nevent: track\ndata: {\"now_playing\":{"));
	CHECK(strstr(ev, "\"position_s\":25"));
	size_t len = strlen(ev);
	CHECK(len > 2 && ev[len - 1] == '\n' && ev[len - 2] == '\n');
	cur = 2;
	ev = drain(np, &cur);
	CHECK(strncmp(ev, "id: 3\n", 6) == 0);
	CHECK(!strstr(ev, "id: 2\n"));
	/* A cursor from the future (another run): a resync. */
	cur = 99;
	ev = drain(np, &cur);
	CHECK(strncmp(ev, "id: 4\nevent: resync\ndata: {\"station\"", 36) == 0);
	CHECK_INT(cur, ==, 4);
	/* A small buffer takes whole events only. */
	char small[64];
	cur = 0;
	CHECK_INT(nowplaying_sse_next(np, &cur, small, sizeof(small), 0), ==,
		  -ENOBUFS);
	CHECK_INT(cur, ==, 1);

	/* More events than the ring holds: a cursor left behind resyncs. */
	for (int i = 0; i < NP_EVENTS_MAX + 10; i++)
		nowplaying_set_next(np, next, 1, true);
	cur = 3;
	char *big = malloc(1 << 20);
	CHECK(big);
	long n = nowplaying_sse_next(np, &cur, big, 1 << 20, 0);
	CHECK(n > 0);
	CHECK(strstr(big, "event: resync\n"));
	CHECK_INT(cur, ==, nowplaying_last_event_id(np));
	cur = nowplaying_last_event_id(np) - NP_EVENTS_MAX;
	n = nowplaying_sse_next(np, &cur, big, 1 << 20, 0);
	CHECK(n > 0 && !strstr(big, "resync"));
	free(big);

	/* History is bounded and newest first. */
	for (int i = 0; i < NP_HISTORY_MAX + 5; i++) {
		struct np_track x = track(100 + i, "X", "Y", 60);
		uint64_t f = 2000000 + (uint64_t)i * 1000;
		nowplaying_mixer_track(np, f, &x);
		nowplaying_heard(np, f, 100 + i, 2000 + i, 100 + i);
	}
	r = state(np, 3000);
	h = json_object_get(r, "song_history");
	CHECK_INT(json_array_size(h), ==, NP_HISTORY_MAX);
	CHECK_INT(num(json_array_get(h, 0), "song.id"), ==,
		  100 + NP_HISTORY_MAX + 3);
	json_decref(r);
	/* A resync that must fit a small block leaves older history out. */
	char *full = nowplaying_json(np, 3000);
	CHECK(full && strlen(full) > 6000);
	free(full);
	char mid[6000];
	cur = 12345678;
	n = nowplaying_sse_next(np, &cur, mid, sizeof(mid), 3000);
	CHECK(n > 0 && (size_t)n < sizeof(mid));
	CHECK(strstr(mid, "event: resync\ndata: {\"station\""));
	CHECK(strstr(mid, "\"now_playing\":{"));

	/* Listeners and metrics. */
	nowplaying_set_listeners(np, 3);
	struct np_metrics m;
	memset(&m, 0, sizeof(m));
	m.tracks_playable = 10;
	m.tracks_analysed = 8;
	m.tracks_bad = 1;
	m.analysis_queue = 2;
	m.buffer_s = 2.5;
	m.outputs[0].connected = true;
	m.outputs[0].reconnects = 4;
	m.outputs[0].sent_bytes = 123456789012ULL;
	nowplaying_set_metrics(np, &m);
	r = state(np, 3000);
	CHECK_INT(num(r, "listeners.current"), ==, 3);
	json_decref(r);
	char *text = nowplaying_metrics_text(np);
	CHECK(text);
	CHECK(strstr(text, "# TYPE foreverfm_build_info gauge\n"
		      "foreverfm_build_info{version=\"" PACKAGE_VERSION
		      "\"} 1\n"));
	CHECK(strstr(text, "foreverfm_tracks{state=\"playable\"} 10\n"));
	CHECK(strstr(text, "foreverfm_tracks{state=\"analysed\"} 8\n"));
	CHECK(strstr(text, "foreverfm_tracks{state=\"bad\"} 1\n"));
	CHECK(strstr(text, "# TYPE foreverfm_transitions_total counter\n"));
	CHECK(strstr(text, "foreverfm_transitions_total{kind=\"beatmatched\"} "
		      "1\n"));
	CHECK(strstr(text, "foreverfm_transitions_total{kind=\"cut\"} 0\n"));
	CHECK(strstr(text, "foreverfm_output_connected{output=\"mp3\"} 1\n"));
	CHECK(strstr(text, "foreverfm_output_reconnects_total{output=\"mp3\"} "
		      "4\n"));
	CHECK(strstr(text, "foreverfm_output_sent_bytes_total{output=\"mp3\"} "
		      "123456789012\n"));
	CHECK(strstr(text, "foreverfm_mixer_buffer_seconds 2.500\n"));
	CHECK(strstr(text, "foreverfm_analysis_queue_tracks 2\n"));
	CHECK(strstr(text, "foreverfm_listeners 3\n"));
	/* Every sample line is NAME{labels} VALUE or NAME VALUE. */
	for (char *line = text; *line;) {
		char *end = strchr(line, '\n');
		CHECK(end);
		if (line[0] != '#')
			CHECK(strncmp(line, "foreverfm_", 10) == 0 &&
			      memchr(line, ' ', (size_t)(end - line)));
		line = end + 1;
	}
	free(text);
	nowplaying_set_listeners(np, -1);
	text = nowplaying_metrics_text(np);
	CHECK(text && !strstr(text, "foreverfm_listeners"));
	free(text);

	/* Polled within NP_JSON_REUSE_S with nothing changed: the same text
	 * (elapsed included); after a change or later, a new one. */
	char *j1 = nowplaying_json(np, 3500.0);
	char *j2 = nowplaying_json(np, 3500.05);
	CHECK(j1 && j2 && strcmp(j1, j2) == 0);
	free(j2);
	j2 = nowplaying_json(np, 3500.2);
	CHECK(j2 && strcmp(j1, j2) != 0);
	free(j2);
	nowplaying_set_listeners(np, 4);
	j2 = nowplaying_json(np, 3500.21);
	CHECK(j2 && strstr(j2, "\"current\":4"));
	free(j2);
	free(j1);

	/* Silence heard: online, nothing playing. */
	nowplaying_mixer_track(np, 9000000, NULL);
	nowplaying_heard(np, 9000000, 0, 4000, 200);
	r = state(np, 4001);
	CHECK(json_is_null(json_object_get(r, "now_playing")));
	json_decref(r);
	nowplaying_destroy(np);
	nowplaying_destroy(NULL);
}

/* The mixer, two outputs and two readers at once. */
struct race {
	struct nowplaying *np;
	int role;
};

static void *race_main(void *arg)
{
	struct race *r = arg;
	char *buf = malloc(1 << 16);
	uint64_t cur = 0;
	CHECK(buf);
	for (int i = 1; i <= 2000; i++) {
		uint64_t f = (uint64_t)i * 44100;
		switch (r->role) {
		case 0: {
			struct np_track t = track(i, "A", "T", 10);
			struct np_transition tr = trans(i - 1, i, f - 22050, f);
			nowplaying_mixer_transition(r->np, &tr);
			nowplaying_mixer_track(r->np, f, &t);
			break;
		}
		case 1:
		case 2:
			nowplaying_heard(r->np, f, i, 1000 + i, (double)i);
			break;
		case 3:
			nowplaying_tick(r->np, (double)i);
			free(nowplaying_json(r->np, 1000 + i));
			break;
		default:
			CHECK(nowplaying_sse_next(r->np, &cur, buf, 1 << 16,
						  0) >= 0);
			free(nowplaying_metrics_text(r->np));
			break;
		}
	}
	free(buf);
	return NULL;
}

static void test_threads(void)
{
	struct np_station st;
	memset(&st, 0, sizeof(st));
	struct nowplaying *np = nowplaying_create(&st);
	CHECK(np);
	pthread_t th[5];
	struct race r[5];
	for (int i = 0; i < 5; i++) {
		r[i].np = np;
		r[i].role = i;
		CHECK(pthread_create(&th[i], NULL, race_main, &r[i]) == 0);
	}
	for (int i = 0; i < 5; i++)
		pthread_join(th[i], NULL);
	nowplaying_tick(np, 1e9);
	char *s = nowplaying_json(np, 0);
	CHECK(s);
	free(s);
	nowplaying_destroy(np);
}

/* A feed's album, genre and cover art URL reach the song object (the
 * catalog's source_meta through nowplaying_track_from); a local file has
 * an empty album and genre and "art": null. The API's BPM is not the
 * song's bpm: only the analysis gives that. */
static void test_feed_metadata(void)
{
	struct catalog_track *ct = calloc(1, sizeof(*ct));
	struct np_track *t = calloc(1, sizeof(*t));
	CHECK(ct && t);
	ct->id = 9;
	snprintf(ct->artist, sizeof(ct->artist), "Feed Artist");
	snprintf(ct->title, sizeof(ct->title), "Feed Title");
	snprintf(ct->album, sizeof(ct->album), "Feed Album");
	snprintf(ct->genre, sizeof(ct->genre), "House, Techno");
	snprintf(ct->cover_url, sizeof(ct->cover_url),
		 "https://usercontent.jamendo.com/?type=album&id=1");
	ct->bpm_hint = 126;
	nowplaying_track_from(t, ct, NULL, "Feed Artist - Feed Title");
	json_t *o = nowplaying_track_json(t);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "album")),
		  "Feed Album");
	CHECK_STR(json_string_value(json_object_get(o, "genre")),
		  "House, Techno");
	CHECK_STR(json_string_value(json_object_get(o, "art")),
		  "https://usercontent.jamendo.com/?type=album&id=1");
	CHECK(json_is_null(json_object_get(o, "bpm")));
	json_decref(o);

	memset(ct, 0, sizeof(*ct));
	ct->id = 10;
	nowplaying_track_from(t, ct, NULL, "x");
	o = nowplaying_track_json(t);
	CHECK(o != NULL);
	CHECK_STR(json_string_value(json_object_get(o, "album")), "");
	CHECK_STR(json_string_value(json_object_get(o, "genre")), "");
	CHECK(json_is_null(json_object_get(o, "art")));
	json_decref(o);
	free(ct);
	free(t);
}

int main(void)
{
	test_feed_metadata();
	test_flow();
	test_threads();
	return 0;
}
