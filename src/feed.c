/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * feed — RSS 2.0 and Atom documents into tracks. See feed.h.
 *
 * DESIGN
 * expat, with namespace processing: element names arrive as "URI NAME"
 * (the separator is a space), so <itunes:author> is recognised by its
 * namespace, whatever prefix a feed binds it to, and RSS's own elements are
 * the ones with no namespace. The parser keeps one item being built and the
 * text of the current element (bounded); an element's text is taken when it
 * closes and only when its parent is the item, so a <title> inside an
 * <image> or <source> never becomes the track's title.
 */
#include "autoconfig.h"

#include "feed.h"

#include <curl/curl.h>
#include <expat.h>

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NS_ATOM "http://www.w3.org/2005/Atom"
#define NS_ITUNES "http://www.itunes.com/dtds/podcast-1.0.dtd"
#define NS_MEDIA "http://search.yahoo.com/mrss/"
#define NS_DC "http://purl.org/dc/elements/1.1/"
#define TEXT_MAX 1024
#define DEPTH_MAX 64

enum doc_kind { DOC_UNKNOWN, DOC_RSS, DOC_ATOM };

struct parse {
	XML_Parser xp;
	const char *base_url;
	struct feed_item *items;
	size_t max, n;
	struct feed_parse_stats *stats;

	enum doc_kind kind;
	unsigned depth;
	unsigned item_depth;     /* depth of the open item, 0: none */
	bool in_author;          /* Atom <author> inside the entry */
	struct feed_item cur;
	bool cur_audio;
	char channel_cover[FEED_URL_MAX]; /* the channel's image, "" if none */
	bool in_channel_image;   /* RSS <image> of the channel */
	char text[TEXT_MAX];
	size_t text_len;
	bool refused;
	char why[FEED_ERROR_MAX];
};

static const char *const audio_exts[] = {
	"mp3", "ogg", "oga", "opus", "flac", "wav", "m4a", "m4b", "mp4",
	"aac", "wma", "aif", "aiff", "aifc", "ape", "wv", "mka", "tta",
	"mpc", "caf",
};

int feed_url_looks_like_audio(const char *url)
{
	size_t end = strcspn(url, "?#");
	size_t dot = end;

	while (dot > 0 && url[dot - 1] != '.' && url[dot - 1] != '/')
		dot--;
	if (dot == 0 || url[dot - 1] != '.' || end - dot > 8)
		return 0;
	for (size_t i = 0; i < sizeof(audio_exts) / sizeof(audio_exts[0]); i++)
		if (strlen(audio_exts[i]) == end - dot &&
		    strncasecmp(url + dot, audio_exts[i], end - dot) == 0)
			return 1;
	return 0;
}

double feed_parse_duration(const char *s)
{
	double fields[3];
	int n = 0;
	const char *p = s;

	while (isspace((unsigned char)*p))
		p++;
	while (*p && n < 3) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return 0;
		fields[n++] = strtod(p, &end);
		p = end;
		if (*p == ':')
			p++;
		else
			break;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0' || n == 0)
		return 0;
	double secs = 0;
	for (int i = 0; i < n; i++)
		secs = secs * 60 + fields[i];
	return secs > 0 && secs < 1e7 ? secs : 0;
}

static void copy_text(char *out, size_t size, const char *text)
{
	size_t len = strlen(text);

	/* Trim, and cut on a UTF-8 boundary. */
	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len > size - 1) {
		len = size - 1;
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		out[i] = c < 0x20 ? ' ' : (char)c;
	}
	out[len] = '\0';
}

/* Resolves URL against the feed's URL; keeps only http(s). */
static bool resolve_url(const char *base, const char *url, char *out,
			size_t size)
{
	CURLU *u = curl_url();
	char *full = NULL;
	bool ok = false;

	if (!u)
		return false;
	if (base && base[0] &&
	    curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK)
		goto out;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_URLENCODE) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		goto out;
	if (strncasecmp(full, "http://", 7) != 0 &&
	    strncasecmp(full, "https://", 8) != 0)
		goto out;
	if (strlen(full) >= size)
		goto out;
	memcpy(out, full, strlen(full) + 1);
	ok = true;
out:
	curl_free(full);
	curl_url_cleanup(u);
	return ok;
}

/* "URI NAME" or "NAME": the namespace (or "") and the local name. */
static const char *split_name(const char *name, char *ns, size_t ns_size)
{
	const char *sp = strrchr(name, ' ');

	if (!sp) {
		ns[0] = '\0';
		return name;
	}
	size_t len = (size_t)(sp - name);
	if (len >= ns_size)
		len = ns_size - 1;
	memcpy(ns, name, len);
	ns[len] = '\0';
	return sp + 1;
}

static const char *attr(const char **atts, const char *name)
{
	for (size_t i = 0; atts[i]; i += 2)
		if (strcmp(atts[i], name) == 0)
			return atts[i + 1];
	return NULL;
}

static bool type_is_audio(const char *type, const char *url)
{
	if (type && strncasecmp(type, "audio/", 6) == 0)
		return true;
	if (!type || !type[0] ||
	    strcasecmp(type, "application/octet-stream") == 0 ||
	    strcasecmp(type, "binary/octet-stream") == 0)
		return feed_url_looks_like_audio(url);
	return false;
}

static void take_enclosure(struct parse *p, const char *url,
			   const char *type, const char *length)
{
	if (!url || p->cur_audio || !type_is_audio(type, url))
		return;
	if (!resolve_url(p->base_url, url, p->cur.url, sizeof(p->cur.url)))
		return;
	p->cur_audio = true;
	copy_text(p->cur.mime, sizeof(p->cur.mime), type ? type : "");
	if (length) {
		char *end;
		long long l = strtoll(length, &end, 10);
		if (*end == '\0' && l > 0)
			p->cur.length = l;
	}
}

static void XMLCALL on_start(void *ctx, const char *name, const char **atts)
{
	struct parse *p = ctx;
	char ns[128];
	const char *local = split_name(name, ns, sizeof(ns));

	p->depth++;
	p->text_len = 0;
	p->text[0] = '\0';
	if (p->depth > DEPTH_MAX) {
		snprintf(p->why, sizeof(p->why), "nested deeper than %d",
			 DEPTH_MAX);
		p->refused = true;
		XML_StopParser(p->xp, XML_FALSE);
		return;
	}
	if (p->depth == 1) {
		if (ns[0] == '\0' && strcmp(local, "rss") == 0)
			p->kind = DOC_RSS;
		else if (strcmp(ns, NS_ATOM) == 0 && strcmp(local, "feed") == 0)
			p->kind = DOC_ATOM;
		return;
	}
	if (p->item_depth == 0) {
		/* The channel's cover: <itunes:image href> or
		 * <image><url>, children of <channel>. */
		if (p->depth == 3 && strcmp(ns, NS_ITUNES) == 0 &&
		    strcmp(local, "image") == 0 && attr(atts, "href"))
			resolve_url(p->base_url, attr(atts, "href"),
				    p->channel_cover,
				    sizeof(p->channel_cover));
		else if (p->depth == 3 && p->kind == DOC_RSS && !ns[0] &&
			 strcmp(local, "image") == 0)
			p->in_channel_image = true;
		bool rss_item = p->kind == DOC_RSS && ns[0] == '\0' &&
				strcmp(local, "item") == 0;
		bool atom_entry = p->kind == DOC_ATOM &&
				  strcmp(ns, NS_ATOM) == 0 &&
				  strcmp(local, "entry") == 0;
		if (rss_item || atom_entry) {
			p->item_depth = p->depth;
			memset(&p->cur, 0, sizeof(p->cur));
			p->cur_audio = false;
			p->in_author = false;
		}
		return;
	}
	if (p->depth != p->item_depth + 1)
		return;
	/* A child of the item. */
	if (p->kind == DOC_RSS && ns[0] == '\0' &&
	    strcmp(local, "enclosure") == 0) {
		take_enclosure(p, attr(atts, "url"), attr(atts, "type"),
			       attr(atts, "length"));
	} else if (p->kind == DOC_RSS && strcmp(ns, NS_MEDIA) == 0 &&
		   strcmp(local, "content") == 0) {
		take_enclosure(p, attr(atts, "url"), attr(atts, "type"),
			       attr(atts, "fileSize"));
	} else if (strcmp(ns, NS_ITUNES) == 0 && strcmp(local, "image") == 0) {
		const char *href = attr(atts, "href");
		if (href)
			resolve_url(p->base_url, href, p->cur.cover_url,
				    sizeof(p->cur.cover_url));
	} else if (strcmp(ns, NS_MEDIA) == 0 &&
		   strcmp(local, "thumbnail") == 0) {
		const char *u = attr(atts, "url");
		if (u && !p->cur.cover_url[0])
			resolve_url(p->base_url, u, p->cur.cover_url,
				    sizeof(p->cur.cover_url));
	} else if (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0 &&
		   strcmp(local, "link") == 0) {
		const char *rel = attr(atts, "rel");
		if (rel && strcmp(rel, "enclosure") == 0)
			take_enclosure(p, attr(atts, "href"),
				       attr(atts, "type"),
				       attr(atts, "length"));
	} else if (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0 &&
		   strcmp(local, "author") == 0) {
		p->in_author = true;
	} else if (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0 &&
		   strcmp(local, "category") == 0) {
		const char *term = attr(atts, "term");
		if (term && !p->cur.genre[0])
			copy_text(p->cur.genre, sizeof(p->cur.genre), term);
	}
}

static void item_end(struct parse *p)
{
	p->stats->items++;
	if (!p->cur_audio) {
		p->stats->skipped++;
		return;
	}
	if (p->n >= p->max) {
		p->stats->truncated++;
		return;
	}
	if (!p->cur.cover_url[0])
		memcpy(p->cur.cover_url, p->channel_cover,
		       sizeof(p->cur.cover_url));
	p->items[p->n++] = p->cur;
}

static void XMLCALL on_end(void *ctx, const char *name)
{
	struct parse *p = ctx;
	char ns[128];
	const char *local = split_name(name, ns, sizeof(ns));
	unsigned depth = p->depth--;

	if (p->item_depth == 0) {
		if (p->in_channel_image && depth == 4 && !ns[0] &&
		    strcmp(local, "url") == 0 && !p->channel_cover[0]) {
			char url[FEED_URL_MAX];
			copy_text(url, sizeof(url), p->text);
			resolve_url(p->base_url, url, p->channel_cover,
				    sizeof(p->channel_cover));
		} else if (p->in_channel_image && depth == 3) {
			p->in_channel_image = false;
		}
		return;
	}
	if (depth == p->item_depth) {
		item_end(p);
		p->item_depth = 0;
		return;
	}
	if (p->in_author && depth == p->item_depth + 2 &&
	    strcmp(ns, NS_ATOM) == 0 && strcmp(local, "name") == 0) {
		copy_text(p->cur.artist, sizeof(p->cur.artist), p->text);
		return;
	}
	if (depth != p->item_depth + 1)
		return;
	if (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0 &&
	    strcmp(local, "author") == 0) {
		p->in_author = false;
	} else if (strcmp(local, "title") == 0 &&
		   ((p->kind == DOC_RSS && ns[0] == '\0') ||
		    (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0))) {
		copy_text(p->cur.title, sizeof(p->cur.title), p->text);
	} else if ((p->kind == DOC_RSS && ns[0] == '\0' &&
		    strcmp(local, "guid") == 0) ||
		   (p->kind == DOC_ATOM && strcmp(ns, NS_ATOM) == 0 &&
		    strcmp(local, "id") == 0)) {
		copy_text(p->cur.id, sizeof(p->cur.id), p->text);
	} else if (strcmp(ns, NS_ITUNES) == 0 &&
		   strcmp(local, "author") == 0) {
		copy_text(p->cur.artist, sizeof(p->cur.artist), p->text);
	} else if (((ns[0] == '\0' && strcmp(local, "author") == 0) ||
		    (strcmp(ns, NS_DC) == 0 &&
		     strcmp(local, "creator") == 0)) && !p->cur.artist[0]) {
		copy_text(p->cur.artist, sizeof(p->cur.artist), p->text);
	} else if (strcmp(ns, NS_ITUNES) == 0 &&
		   strcmp(local, "duration") == 0) {
		p->cur.duration_s = feed_parse_duration(p->text);
	} else if (p->kind == DOC_RSS && ns[0] == '\0' &&
		   strcmp(local, "category") == 0 && !p->cur.genre[0]) {
		copy_text(p->cur.genre, sizeof(p->cur.genre), p->text);
	}
}

static void XMLCALL on_text(void *ctx, const char *s, int len)
{
	struct parse *p = ctx;
	size_t room = sizeof(p->text) - 1 - p->text_len;
	size_t n = len > 0 ? (size_t)len : 0;

	if (p->item_depth == 0 && !p->in_channel_image)
		return;
	if (n > room)
		n = room;
	memcpy(p->text + p->text_len, s, n);
	p->text_len += n;
	p->text[p->text_len] = '\0';
}

static void XMLCALL on_entity_decl(void *ctx, const XML_Char *name,
				   int is_parameter, const XML_Char *value,
				   int value_length, const XML_Char *base,
				   const XML_Char *system_id,
				   const XML_Char *public_id,
				   const XML_Char *notation)
{
	struct parse *p = ctx;

	snprintf(p->why, sizeof(p->why), "declares entities (refused)");
	p->refused = true;
	XML_StopParser(p->xp, XML_FALSE);
}

int feed_parse_xml(const char *doc, size_t len, const char *base_url,
		   struct feed_item *items, size_t max, size_t *n,
		   struct feed_parse_stats *stats, char *err, size_t err_size)
{
	struct feed_parse_stats local_stats;
	struct parse *p;
	int rc = 0;

	*n = 0;
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	if (len > (size_t)INT32_MAX) {
		snprintf(err, err_size, "document too large");
		return -EBADMSG;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	p->xp = XML_ParserCreateNS(NULL, ' ');
	if (!p->xp) {
		free(p);
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	p->base_url = base_url;
	p->items = items;
	p->max = max;
	p->stats = stats;
	XML_SetUserData(p->xp, p);
	XML_SetElementHandler(p->xp, on_start, on_end);
	XML_SetCharacterDataHandler(p->xp, on_text);
	XML_SetEntityDeclHandler(p->xp, on_entity_decl);
	/* No external DTD or entity is ever read. */
	XML_SetParamEntityParsing(p->xp, XML_PARAM_ENTITY_PARSING_NEVER);

	if (XML_Parse(p->xp, doc, (int)len, XML_TRUE) == XML_STATUS_ERROR) {
		if (p->refused)
			snprintf(err, err_size, "not a usable feed: %s",
				 p->why);
		else
			snprintf(err, err_size, "not well-formed XML: line "
				 "%lu: %s",
				 (unsigned long)XML_GetCurrentLineNumber(p->xp),
				 XML_ErrorString(XML_GetErrorCode(p->xp)));
		rc = -EBADMSG;
	} else if (p->kind == DOC_UNKNOWN) {
		snprintf(err, err_size, "neither RSS nor Atom");
		rc = -EBADMSG;
	}
	if (rc == 0) {
		*n = p->n;
		err[0] = '\0';
	}
	XML_ParserFree(p->xp);
	free(p);
	return rc;
}
