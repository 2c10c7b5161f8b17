/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * brain — the distance between two tracks. See brain.h for the formula and
 * doc/brain.md for the reasoning behind every term.
 *
 * Exact symmetry is a design goal, not an accident: the tour solver
 * evaluates an edge from either end and must see the same number. Every
 * term is therefore built from quantities that only change sign when the
 * tracks are swapped (ln a - ln b, never ln(a / b)), and IEEE arithmetic
 * negates exactly, so fabs() makes the two orders agree to the bit.
 */
#include "autoconfig.h"

#include "brain.h"
#include "tempo.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Cost of a Camelot distance in wheel steps (+1 for a letter change). */
static const double brain_key_cost[8] = { 0.0, 0.1, 0.4, 0.7, 0.9, 1.0, 1.0, 1.0 };

void brain_weights_default(struct brain_weights *w)
{
	w->tempo = 2.0;
	w->key = 1.5;
	w->energy = 1.0;
	w->timbre = 1.0;
	w->loudness = 0.5;
	w->genre = 0.5;
	w->same_artist = 1.0;
	w->max_stretch = 0.08;
	w->stretch_shifts_pitch = false;
	w->timbre_scale = 2.0;
}

int brain_weights_check(const struct brain_weights *w)
{
	if (!w)
		return -EINVAL;
	const double ws[] = { w->tempo, w->key, w->energy, w->timbre,
			      w->loudness, w->genre, w->same_artist };
	double sum = 0.0;
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		if (!isfinite(ws[i]) || ws[i] < 0.0)
			return -EINVAL;
		sum += ws[i];
	}
	if (!(sum > 0.0))
		return -EINVAL;
	if (!(w->max_stretch > 0.0 && w->max_stretch < 1.0))
		return -EINVAL;
	if (!(w->timbre_scale > 0.0) || !isfinite(w->timbre_scale))
		return -EINVAL;
	return 0;
}

void brain_track_init(struct brain_track *t)
{
	memset(t, 0, sizeof(*t));
	t->bpm = 0.0;
	t->bpm_confidence = 1.0;
	t->camelot = 0;
	t->mode = BRAIN_MODE_UNKNOWN;
	t->key_confidence = 1.0;
	t->energy = -1.0;
	t->n_timbre = 0;
	t->loudness_lufs = NAN;
}

int brain_camelot_from_pitch(int pitch_class, enum brain_mode mode,
			     int *camelot)
{
	if (pitch_class < 0 || pitch_class > 11 || !camelot)
		return -EINVAL;
	/* One step on the wheel is a fifth (7 semitones) and 7 is its own
	 * inverse mod 12, so position = 7 * semitones from the anchor:
	 * 8B = C major, 8A = A minor. */
	switch (mode) {
	case BRAIN_MODE_MAJOR:
		*camelot = (7 * pitch_class + 7) % 12 + 1;
		return 0;
	case BRAIN_MODE_MINOR:
		*camelot = ((7 * (pitch_class - 9) + 7) % 12 + 12) % 12 + 1;
		return 0;
	default:
		return -EINVAL;
	}
}

static double weight_of(double w)
{
	return w > 0.0 && isfinite(w) ? w : 0.0;
}

static double confidence_of(double a, double b)
{
	double c = a < b ? a : b;
	if (!(c > 0.0))
		return 0.0; /* also NaN */
	return c > 1.0 ? 1.0 : c;
}

static bool has_tempo(const struct brain_track *t)
{
	return t->bpm > 0.0 && isfinite(t->bpm);
}

static bool has_key(const struct brain_track *t)
{
	return t->camelot >= 1 && t->camelot <= 12 &&
	       (t->mode == BRAIN_MODE_MINOR || t->mode == BRAIN_MODE_MAJOR);
}

static bool has_energy(const struct brain_track *t)
{
	return t->energy >= 0.0 && t->energy <= 1.0; /* false for NaN */
}

/* The tag list of a genre string: pointers into S with lengths. */
struct tag_list {
	const char *tag[BRAIN_GENRE_TAGS_MAX];
	size_t len[BRAIN_GENRE_TAGS_MAX];
	size_t n;
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool tag_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return false;
	for (size_t i = 0; i < alen; i++)
		if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
			return false;
	return true;
}

static void tags_parse(const char *s, size_t max_len, struct tag_list *tl)
{
	tl->n = 0;
	size_t i = 0;
	while (i < max_len && s[i]) {
		size_t start = i;
		while (i < max_len && s[i] && s[i] != ',' && s[i] != ';' && s[i] != '/')
			i++;
		size_t end = i;
		while (start < end && is_space((unsigned char)s[start]))
			start++;
		while (end > start && is_space((unsigned char)s[end - 1]))
			end--;
		if (end > start && tl->n < BRAIN_GENRE_TAGS_MAX) {
			bool dup = false;
			for (size_t k = 0; k < tl->n && !dup; k++)
				dup = tag_equal(tl->tag[k], tl->len[k], s + start, end - start);
			if (!dup) {
				tl->tag[tl->n] = s + start;
				tl->len[tl->n] = end - start;
				tl->n++;
			}
		}
		if (i < max_len && s[i])
			i++; /* the separator */
	}
}

/* Jaccard distance of the tag sets, or NAN when either has none. */
static double genre_term(const struct brain_track *a, const struct brain_track *b)
{
	struct tag_list ta, tb;
	tags_parse(a->genre, sizeof(a->genre), &ta);
	tags_parse(b->genre, sizeof(b->genre), &tb);
	if (ta.n == 0 || tb.n == 0)
		return NAN;
	size_t common = 0;
	for (size_t i = 0; i < ta.n; i++)
		for (size_t j = 0; j < tb.n; j++)
			if (tag_equal(ta.tag[i], ta.len[i], tb.tag[j], tb.len[j])) {
				common++;
				break;
			}
	size_t uni = ta.n + tb.n - common;
	return 1.0 - (double)common / (double)uni;
}

/* Key cost after transposing a by SHIFT semitones (0 when not stretched). */
static double key_term(const struct brain_track *a, const struct brain_track *b,
		       double shift)
{
	double k = round(shift); /* half away from zero: symmetric in sign */
	double detune = fabs(shift - k);
	long whole = (long)k % 12;
	long pa = (long)(a->camelot - 1) + 7 * whole;
	long diff = ((pa - (long)(b->camelot - 1)) % 12 + 12) % 12;
	long steps = diff > 6 ? 12 - diff : diff;
	if (a->mode != b->mode)
		steps++;
	double t = brain_key_cost[steps] + 2.0 * detune;
	return t > 1.0 ? 1.0 : t;
}

double brain_distance(const struct brain_track *a, const struct brain_track *b,
		      const struct brain_weights *w, struct brain_cost *terms)
{
	struct brain_weights def;
	if (!w) {
		brain_weights_default(&def);
		w = &def;
	}
	struct brain_cost c = {
		.tempo = NAN, .key = NAN, .energy = NAN, .timbre = NAN,
		.loudness = NAN, .genre = NAN, .same_artist = NAN,
		.total = BRAIN_DISTANCE_UNKNOWN, .stretch = 1.0,
		.shift_semitones = 0.0,
	};
	double num = 0.0, den = 0.0;
	double max_stretch = w->max_stretch > 0.0 && w->max_stretch < 1.0
				     ? w->max_stretch : 0.08;
	double shift = 0.0;
	bool unmatched = false;

	if (has_tempo(a) && has_tempo(b)) {
		/* The mixer's own rule (tempo.h): the ratio, and whether it
		 * beatmatches directly, over a bridge or not at all. */
		struct tempo_match m;
		(void)tempo_match(a->bpm, b->bpm, max_stretch, &m);
		double limit = log1p(max_stretch);
		double t = fabs(m.log_speed) / limit;
		if (m.reach == TEMPO_DIRECT) {
			c.stretch = exp(m.log_speed);
			shift = 12.0 * m.log_speed / M_LN2;
			/* Quadratic: see brain.h (why not linear). Within
			 * the tolerance t may pass 1 by a hair. */
			t = t < 1.0 ? t * t : 1.0;
		} else {
			/* A tempo bridge (each deck half the way) up to
			 * twice the limit; nothing is stretched for the key
			 * (the ride ends at each track's own tempo). */
			unmatched = m.reach == TEMPO_BEYOND;
			t = 1.0;
		}
		c.tempo = t;
		double wc = weight_of(w->tempo) *
			    confidence_of(a->bpm_confidence, b->bpm_confidence);
		num += wc * t;
		den += wc;
	}
	if (has_key(a) && has_key(b)) {
		double s = w->stretch_shifts_pitch ? shift : 0.0;
		c.key = key_term(a, b, s);
		c.shift_semitones = s;
		double wc = weight_of(w->key) *
			    confidence_of(a->key_confidence, b->key_confidence);
		num += wc * c.key;
		den += wc;
	}
	if (has_energy(a) && has_energy(b)) {
		c.energy = fabs(a->energy - b->energy);
		num += weight_of(w->energy) * c.energy;
		den += weight_of(w->energy);
	}
	if (a->n_timbre > 0 && a->n_timbre <= BRAIN_TIMBRE_MAX &&
	    a->n_timbre == b->n_timbre) {
		double sum = 0.0;
		for (int i = 0; i < a->n_timbre; i++) {
			double diff = (double)a->timbre[i] - (double)b->timbre[i];
			sum += diff * diff;
		}
		double scale = w->timbre_scale > 0.0 ? w->timbre_scale : 2.0;
		double t = sqrt(sum / a->n_timbre) / scale;
		if (isfinite(t)) {
			c.timbre = t > 1.0 ? 1.0 : t;
			num += weight_of(w->timbre) * c.timbre;
			den += weight_of(w->timbre);
		}
	}
	if (isfinite(a->loudness_lufs) && isfinite(b->loudness_lufs)) {
		double t = fabs(a->loudness_lufs - b->loudness_lufs) / 12.0;
		c.loudness = t > 1.0 ? 1.0 : t;
		num += weight_of(w->loudness) * c.loudness;
		den += weight_of(w->loudness);
	}
	c.genre = genre_term(a, b);
	if (!isnan(c.genre)) {
		num += weight_of(w->genre) * c.genre;
		den += weight_of(w->genre);
	}
	if (a->artist[0] && b->artist[0]) {
		c.same_artist = strncmp(a->artist, b->artist, BRAIN_ARTIST_MAX) == 0
					? 1.0 : 0.0;
		num += weight_of(w->same_artist) * c.same_artist;
		den += weight_of(w->same_artist);
	}
	if (den > 0.0)
		c.total = num / den;
	/* Symmetric: both conditions are the same from either end. */
	if (unmatched || a->grid_untrusted || b->grid_untrusted)
		c.total += BRAIN_UNMATCHED_COST;
	if (terms)
		*terms = c;
	return c.total;
}

/* ---- artist names ---------------------------------------------------- */

/* Output buffer that refuses to split a UTF-8 sequence when it fills. */
struct out_buf {
	char *s;
	size_t size; /* including the NUL */
	size_t len;
	bool full;
};

static void out_put(struct out_buf *o, unsigned char c)
{
	if (o->full)
		return;
	if (o->len + 1 >= o->size) {
		o->full = true;
		/* Undo a sequence whose continuation bytes no longer fit:
		 * back off to its lead byte if C continues it. */
		if ((c & 0xC0) == 0x80) {
			while (o->len > 0 && ((unsigned char)o->s[o->len - 1] & 0xC0) == 0x80)
				o->len--;
			if (o->len > 0 && (unsigned char)o->s[o->len - 1] >= 0xC0)
				o->len--;
		}
		return;
	}
	o->s[o->len++] = (char)c;
}

static bool word_is(const char *w, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len == n && tag_equal(w, len, lit, n);
}

static bool word_is_featuring(const char *w, size_t len)
{
	if (len > 0 && (w[0] == '(' || w[0] == '[')) {
		w++;
		len--;
	}
	return word_is(w, len, "feat.") || word_is(w, len, "feat") ||
	       word_is(w, len, "ft.") || word_is(w, len, "ft") ||
	       word_is(w, len, "featuring");
}

/* The common part of the artist and title normalisers. */
static int normalise_name(const char *in, char *out, size_t out_size,
			  bool drop_article)
{
	if (!in || !out || out_size == 0)
		return -EINVAL;
	struct out_buf o = { .s = out, .size = out_size, .len = 0, .full = false };
	const char *p = in;
	size_t n_words = 0;
	bool cut = false;

	while (*p) {
		while (*p && is_space((unsigned char)*p))
			p++;
		if (!*p)
			break;
		const char *word = p;
		while (*p && !is_space((unsigned char)*p))
			p++;
		size_t len = (size_t)(p - word);
		if (drop_article && n_words == 0 && word_is(word, len, "the")) {
			const char *q = p;
			while (*q && is_space((unsigned char)*q))
				q++;
			if (*q) /* "The" alone is a name, not an article */
				continue;
		}
		if (n_words > 0 && word_is_featuring(word, len)) {
			cut = true;
			break;
		}
		if (n_words > 0)
			out_put(&o, ' ');
		for (size_t i = 0; i < len; i++)
			out_put(&o, ascii_lower((unsigned char)word[i]));
		n_words++;
	}
	/* "Beatles, The" -> "beatles"; punctuation left dangling before a
	 * featuring credit ("A, feat. B", "A & feat. B") goes too. */
	static const char suffix[] = ", the";
	size_t sl = sizeof(suffix) - 1;
	if (drop_article && o.len > sl &&
	    memcmp(o.s + o.len - sl, suffix, sl) == 0)
		o.len -= sl;
	if (cut)
		while (o.len > 0 && (o.s[o.len - 1] == ',' || o.s[o.len - 1] == ';' ||
				     o.s[o.len - 1] == '&' || o.s[o.len - 1] == '-' ||
				     o.s[o.len - 1] == ' '))
			o.len--;
	while (o.len > 0 && o.s[o.len - 1] == ' ')
		o.len--;
	o.s[o.len] = '\0';
	return o.full ? -E2BIG : 0;
}

int brain_normalise_artist(const char *in, char *out, size_t out_size)
{
	return normalise_name(in, out, out_size, true);
}

int brain_normalise_title(const char *in, char *out, size_t out_size)
{
	return normalise_name(in, out, out_size, false);
}

/* ---- timbre ---------------------------------------------------------- */

/* The most common vector length among TRACKS (0: none has a vector);
 * COUNT[d] receives how many have length d. */
static int timbre_common_length(const struct brain_track *tracks, size_t n,
				size_t count[BRAIN_TIMBRE_MAX + 1])
{
	memset(count, 0, (BRAIN_TIMBRE_MAX + 1) * sizeof(*count));
	for (size_t i = 0; i < n; i++)
		if (tracks[i].n_timbre > 0 && tracks[i].n_timbre <= BRAIN_TIMBRE_MAX)
			count[tracks[i].n_timbre]++;
	int dim = 0;
	for (int d = 1; d <= BRAIN_TIMBRE_MAX; d++)
		if (count[d] > count[dim])
			dim = d;
	return dim;
}

int brain_timbre_norm_fit(const struct brain_track *tracks, size_t n,
			  struct brain_timbre_norm *norm)
{
	if ((!tracks && n > 0) || !norm)
		return -EINVAL;
	memset(norm, 0, sizeof(*norm));
	size_t count[BRAIN_TIMBRE_MAX + 1];
	int dim = timbre_common_length(tracks, n, count);
	norm->n_timbre = dim;
	for (int k = 0; k < dim; k++) {
		double mean = 0.0, var = 0.0;
		for (size_t i = 0; i < n; i++)
			if (tracks[i].n_timbre == dim)
				mean += tracks[i].timbre[k];
		mean /= (double)count[dim];
		for (size_t i = 0; i < n; i++)
			if (tracks[i].n_timbre == dim) {
				double d = tracks[i].timbre[k] - mean;
				var += d * d;
			}
		double sd = sqrt(var / (double)count[dim]);
		norm->mean[k] = mean;
		norm->sd[k] = sd > 1e-12 ? sd : 0.0;
	}
	return 0;
}

void brain_timbre_norm_apply(const struct brain_timbre_norm *norm,
			     struct brain_track *t)
{
	if (norm->n_timbre == 0 || t->n_timbre != norm->n_timbre)
		return;
	for (int k = 0; k < norm->n_timbre; k++)
		t->timbre[k] = norm->sd[k] > 0.0
			? (float)((t->timbre[k] - norm->mean[k]) / norm->sd[k])
			: 0.0f;
}

int brain_timbre_standardise(struct brain_track *tracks, size_t n)
{
	struct brain_timbre_norm norm;
	int rc = brain_timbre_norm_fit(tracks, n, &norm);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		brain_timbre_norm_apply(&norm, &tracks[i]);
	return 0;
}

/* ---- the embedding --------------------------------------------------- */

int brain_embed_fit(const struct brain_track *tracks, size_t n,
		    struct brain_embedding *e)
{
	if ((!tracks && n > 0) || !e)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	size_t count[BRAIN_TIMBRE_MAX + 1];
	int dim = timbre_common_length(tracks, n, count);
	if (dim == 0 || count[dim] < 2)
		return 0;
	/* The covariance about the mean, then its leading eigenvectors by
	 * power iteration, each deflated out before the next: 26 x 26, so
	 * O(26^2 n) to build and nothing to speak of to decompose. */
	double mean[BRAIN_TIMBRE_MAX] = { 0 };
	double cov[BRAIN_TIMBRE_MAX][BRAIN_TIMBRE_MAX] = { { 0 } };
	for (size_t i = 0; i < n; i++)
		if (tracks[i].n_timbre == dim)
			for (int k = 0; k < dim; k++)
				mean[k] += tracks[i].timbre[k];
	for (int k = 0; k < dim; k++)
		mean[k] /= (double)count[dim];
	for (size_t i = 0; i < n; i++) {
		if (tracks[i].n_timbre != dim)
			continue;
		double x[BRAIN_TIMBRE_MAX];
		for (int k = 0; k < dim; k++)
			x[k] = tracks[i].timbre[k] - mean[k];
		for (int a = 0; a < dim; a++)
			for (int b = a; b < dim; b++)
				cov[a][b] += x[a] * x[b];
	}
	for (int a = 0; a < dim; a++)
		for (int b = 0; b < a; b++)
			cov[a][b] = cov[b][a];
	e->n_timbre = dim;
	for (int c = 0; c < BRAIN_EMBED_TIMBRE && c < dim; c++) {
		double v[BRAIN_TIMBRE_MAX], lambda = 0;
		for (int k = 0; k < dim; k++)
			v[k] = 1.0 + 0.01 * (k + c); /* not orthogonal to much */
		for (int it = 0; it < 100; it++) {
			double w[BRAIN_TIMBRE_MAX] = { 0 }, norm = 0;
			for (int a = 0; a < dim; a++)
				for (int b = 0; b < dim; b++)
					w[a] += cov[a][b] * v[b];
			for (int a = 0; a < dim; a++)
				norm += w[a] * w[a];
			norm = sqrt(norm);
			if (!(norm > 1e-12))
				break;
			for (int a = 0; a < dim; a++)
				v[a] = w[a] / norm;
			lambda = norm;
		}
		for (int k = 0; k < dim; k++)
			e->axis[c][k] = (float)v[k];
		for (int a = 0; a < dim; a++)
			for (int b = 0; b < dim; b++)
				cov[a][b] -= lambda * v[a] * v[b];
	}
	return 0;
}

void brain_embed(const struct brain_embedding *e,
		 const struct brain_weights *w, const struct brain_track *t,
		 float out[BRAIN_EMBED_DIM])
{
	struct brain_weights def;
	if (!w) {
		brain_weights_default(&def);
		w = &def;
	}
	double wt = weight_of(w->tempo), wk = weight_of(w->key);
	double we = weight_of(w->energy), wti = weight_of(w->timbre);
	double wl = weight_of(w->loudness);
	double total = wt + wk + we + wti + wl;
	if (!(total > 0))
		total = 1;
	double max_stretch = w->max_stretch > 0.0 && w->max_stretch < 1.0
				     ? w->max_stretch : 0.08;
	for (int d = 0; d < BRAIN_EMBED_DIM; d++)
		out[d] = 0;
	if (has_tempo(t)) {
		/* An arc of ln(1 + max_stretch) (in octaves: / ln 2) costs
		 * twice the tempo's share: r 2 pi (limit / ln 2) = 2 wt. */
		double limit = log1p(max_stretch) / M_LN2;
		double r = 0.5 * wt / total / (2.0 * M_PI * limit);
		double x = log2(t->bpm);
		x -= floor(x);
		out[0] = (float)(r * cos(2.0 * M_PI * x));
		out[1] = (float)(r * sin(2.0 * M_PI * x));
	}
	if (has_key(t)) {
		/* Two wheel steps (a chord of one radius) cost K[2] = 0.4. */
		double conf = confidence_of(t->key_confidence, 1.0);
		double r = 0.4 * wk / total * conf;
		double a = 2.0 * M_PI * (t->camelot - 1) / 12.0;
		out[2] = (float)(r * cos(a));
		out[3] = (float)(r * sin(a));
		double step = 0.5 * brain_key_cost[1] * wk / total * conf;
		out[4] = (float)(t->mode == BRAIN_MODE_MAJOR ? step : -step);
	}
	out[5] = (float)((has_energy(t) ? t->energy : 0.5) * we / total);
	if (isfinite(t->loudness_lufs)) {
		double l = t->loudness_lufs;
		l = l < -40 ? -40 : l > 0 ? 0 : l;
		out[6] = (float)((l + 14.0) / 12.0 * wl / total);
	}
	if (e && e->n_timbre > 0 && t->n_timbre == e->n_timbre) {
		double scale = w->timbre_scale > 0.0 ? w->timbre_scale : 2.0;
		double unit = wti / total / (scale * sqrt((double)t->n_timbre));
		for (int c = 0; c < BRAIN_EMBED_TIMBRE; c++) {
			double p = 0;
			for (int k = 0; k < t->n_timbre; k++)
				p += (double)e->axis[c][k] * t->timbre[k];
			out[7 + c] = isfinite(p) ? (float)(p * unit) : 0.0f;
		}
	}
}
