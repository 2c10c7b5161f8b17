/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_feed — the feed parsers on documents written here: RSS 2.0 with
 * iTunes and Media RSS extensions, Atom, relative enclosure URLs, items
 * without audio, the item limit, prefixes bound to other names, and hostile
 * documents (not XML, not a feed, entity declarations, deep nesting,
 * non-http URLs, huge fields); the Subsonic and Jamendo JSON answers
 * (songs, ids, errors, wrong types).
 */
#include "autoconfig.h"

#include "feed.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS 8

static struct feed_item items[MAX_ITEMS];
static char err[FEED_ERROR_MAX];

static int parse(const char *doc, size_t max, size_t *n,
		 struct feed_parse_stats *st)
{
	return feed_parse_xml(doc, strlen(doc), "http://127.0.0.1:8080/feeds/a.xml",
			      items, max, n, st, err, sizeof(err));
}

static void test_rss(void)
{
	const char *doc =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<rss version=\"2.0\" xmlns:it=\"http://www.itunes.com/dtds/podcast-1.0.dtd\"\n"
		"     xmlns:media=\"http://search.yahoo.com/mrss/\">\n"
		"<channel><title>Netlabel</title>\n"
		"<image><url>http://x/logo.png</url><title>Logo</title></image>\n"
		"<item><title> First &amp; Best </title><it:author>Artist A</it:author>\n"
		"  <it:duration>3:25</it:duration><category>Techno</category>\n"
		"  <guid>tag:one</guid><it:image href=\"/covers/1.jpg\"/>\n"
		"  <enclosure url=\"http://127.0.0.1:8080/m/one.mp3\" type=\"audio/mpeg\" length=\"123456\"/></item>\n"
		"<item><title>Relative</title><author>b@example.org (B)</author>\n"
		"  <it:duration>75</it:duration>\n"
		"  <enclosure url=\"../m/two.ogg\" length=\"x\"/></item>\n"
		"<item><title>A video</title><enclosure url=\"http://x/v.mp4\" type=\"video/mp4\"/></item>\n"
		"<item><title>No enclosure</title></item>\n"
		"<item><title>Media</title><media:content url=\"http://x/three.flac\" type=\"audio/flac\" fileSize=\"99\"/>\n"
		"  <media:thumbnail url=\"http://x/t.jpg\"/></item>\n"
		"<item><title>FTP</title><enclosure url=\"ftp://x/four.mp3\" type=\"audio/mpeg\"/></item>\n"
		"</channel></rss>\n";
	struct feed_parse_stats st;
	size_t n;

	CHECK_INT(parse(doc, MAX_ITEMS, &n, &st), ==, 0);
	CHECK_INT(n, ==, 3);
	CHECK_INT(st.items, ==, 6);
	CHECK_INT(st.skipped, ==, 3);
	CHECK_STR(items[0].url, "http://127.0.0.1:8080/m/one.mp3");
	CHECK_STR(items[0].title, "First & Best");
	CHECK_STR(items[0].artist, "Artist A");
	CHECK_STR(items[0].genre, "Techno");
	CHECK_STR(items[0].id, "tag:one");
	CHECK_STR(items[0].mime, "audio/mpeg");
	CHECK_STR(items[0].cover_url, "http://127.0.0.1:8080/covers/1.jpg");
	CHECK_NEAR(items[0].duration_s, 205, 1e-9);
	CHECK_INT(items[0].length, ==, 123456);
	CHECK_STR(items[1].url, "http://127.0.0.1:8080/m/two.ogg");
	CHECK_STR(items[1].artist, "b@example.org (B)");
	CHECK_NEAR(items[1].duration_s, 75, 1e-9);
	CHECK_INT(items[1].length, ==, 0);
	/* No image of its own: the channel's. */
	CHECK_STR(items[1].cover_url, "http://x/logo.png");
	CHECK_STR(items[2].url, "http://x/three.flac");
	CHECK_STR(items[2].cover_url, "http://x/t.jpg");
	CHECK_INT(items[2].length, ==, 99);

	/* The limit: the first ones, the rest counted. */
	CHECK_INT(parse(doc, 2, &n, &st), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_INT(st.truncated, ==, 1);
}

static void test_atom(void)
{
	const char *doc =
		"<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
		"<title>Show</title><author><name>Feed author</name></author>\n"
		"<entry><title type=\"text\">Episode 1</title><id>urn:e1</id>\n"
		"  <author><name>Host</name></author><category term=\"House\"/>\n"
		"  <link rel=\"alternate\" href=\"http://x/page\"/>\n"
		"  <link rel=\"enclosure\" href=\"/e1.opus\" type=\"audio/ogg\" length=\"42\"/></entry>\n"
		"<entry><title>Text only</title><link href=\"http://x/p2\"/></entry>\n"
		"</feed>";
	struct feed_parse_stats st;
	size_t n;

	CHECK_INT(parse(doc, MAX_ITEMS, &n, &st), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(st.skipped, ==, 1);
	CHECK_STR(items[0].url, "http://127.0.0.1:8080/e1.opus");
	CHECK_STR(items[0].title, "Episode 1");
	CHECK_STR(items[0].artist, "Host");
	CHECK_STR(items[0].genre, "House");
	CHECK_STR(items[0].id, "urn:e1");
	CHECK_INT(items[0].length, ==, 42);
}

static void test_hostile(void)
{
	struct feed_parse_stats st;
	size_t n;
	char *big;

	CHECK_INT(parse("<html><body>not a feed</body></html>", MAX_ITEMS, &n,
			&st), ==, -EBADMSG);
	CHECK(strstr(err, "neither RSS nor Atom"));
	CHECK_INT(parse("{\"json\": true}", MAX_ITEMS, &n, &st), ==, -EBADMSG);
	CHECK(strstr(err, "not well-formed"));
	CHECK_INT(parse("<rss><channel><item>", MAX_ITEMS, &n, &st), ==,
		  -EBADMSG);
	CHECK_INT(parse("", MAX_ITEMS, &n, &st), ==, -EBADMSG);
	/* Billion laughs, and an external entity: refused outright. */
	CHECK_INT(parse("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY a "
			"\"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>"
			"<rss><channel><item><title>&b;</title></item>"
			"</channel></rss>", MAX_ITEMS, &n, &st), ==, -EBADMSG);
	CHECK(strstr(err, "entities"));
	CHECK_INT(parse("<?xml version=\"1.0\"?><!DOCTYPE rss [<!ENTITY x "
			"SYSTEM \"file:///etc/passwd\">]><rss><channel><item>"
			"<title>&x;</title></item></channel></rss>", MAX_ITEMS,
			&n, &st), ==, -EBADMSG);
	/* Deep nesting. */
	big = malloc(200 * 8 + 64);
	CHECK(big);
	strcpy(big, "<rss>");
	for (int i = 0; i < 200; i++)
		strcat(big, "<a>");
	CHECK_INT(parse(big, MAX_ITEMS, &n, &st), ==, -EBADMSG);
	free(big);
	/* A huge title is cut, on a UTF-8 boundary. */
	size_t len = 100000;
	big = malloc(len + 256);
	CHECK(big);
	strcpy(big, "<rss><channel><item><enclosure url=\"http://x/a.mp3\"/>"
		    "<title>");
	size_t o = strlen(big);
	for (size_t i = 0; i < len / 2; i++) {
		big[o++] = '\xc3';
		big[o++] = '\xa9';
	}
	strcpy(big + o, "</title></item></channel></rss>");
	CHECK_INT(parse(big, MAX_ITEMS, &n, &st), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_INT(strlen(items[0].title), <=, FEED_TEXT_MAX - 1);
	CHECK_INT(strlen(items[0].title) % 2, ==, 0);
	free(big);
}

static void test_helpers(void)
{
	CHECK_NEAR(feed_parse_duration("3600"), 3600, 1e-9);
	CHECK_NEAR(feed_parse_duration("1:02:03"), 3723, 1e-9);
	CHECK_NEAR(feed_parse_duration(" 4:05.5 "), 245.5, 1e-9);
	CHECK_NEAR(feed_parse_duration("soon"), 0, 0);
	CHECK_NEAR(feed_parse_duration("-5"), 0, 0);
	CHECK_NEAR(feed_parse_duration(""), 0, 0);
	CHECK(feed_url_looks_like_audio("http://x/a/b.MP3?x=1"));
	CHECK(feed_url_looks_like_audio("http://x/b.opus#t"));
	CHECK(!feed_url_looks_like_audio("http://x/b.html"));
	CHECK(!feed_url_looks_like_audio("http://x/mp3"));
	CHECK(!feed_url_looks_like_audio("http://x/download?f=a.mp3"));
}

static void test_subsonic(void)
{
	const char *ok =
		"{\"subsonic-response\": {\"status\": \"ok\", \"version\": \"1.16.1\","
		" \"songsByGenre\": {\"song\": ["
		"{\"id\": \"s1\", \"title\": \"One\", \"artist\": \"A\", \"album\": \"LP\", \"genre\": \"Techno\","
		" \"duration\": 245, \"bpm\": 128, \"coverArt\": \"al-1\", \"size\": 4096,"
		" \"contentType\": \"audio/mpeg\"},"
		"{\"id\": 7, \"title\": \"Numeric id\", \"duration\": 1.5},"
		"{\"title\": \"no id\"},"
		"{\"id\": \"v\", \"isVideo\": true},"
		"\"not an object\","
		"{\"id\": \"s3\", \"title\": 42, \"bpm\": \"fast\", \"duration\": -3}"
		"]}}}";
	size_t n;

	CHECK_INT(feed_parse_subsonic(ok, strlen(ok), "songsByGenre.song", items,
				      MAX_ITEMS, &n, err, sizeof(err)), ==, 0);
	CHECK_INT(n, ==, 3);
	CHECK_STR(items[0].id, "s1");
	CHECK_STR(items[0].title, "One");
	CHECK_STR(items[0].artist, "A");
	CHECK_STR(items[0].genre, "Techno");
	CHECK_STR(items[0].album, "LP");
	CHECK_STR(items[0].cover_url, "al-1");
	CHECK_NEAR(items[0].duration_s, 245, 1e-9);
	CHECK_NEAR(items[0].bpm, 128, 1e-9);
	CHECK_INT(items[0].length, ==, 4096);
	CHECK_STR(items[0].url, "");
	CHECK_STR(items[1].id, "7");
	CHECK_STR(items[2].id, "s3");
	CHECK_STR(items[2].title, "");
	CHECK_NEAR(items[2].bpm, 0, 0);
	CHECK_NEAR(items[2].duration_s, 0, 0);
	/* Another list, absent: empty. */
	CHECK_INT(feed_parse_subsonic(ok, strlen(ok), "starred2.song", items,
				      MAX_ITEMS, &n, err, sizeof(err)), ==, 0);
	CHECK_INT(n, ==, 0);

	const char *bad_pw = "{\"subsonic-response\": {\"status\": \"failed\","
		" \"error\": {\"code\": 40, \"message\": \"Wrong username or password\"}}}";
	CHECK_INT(feed_parse_subsonic(bad_pw, strlen(bad_pw), "randomSongs.song",
				      items, MAX_ITEMS, &n, err, sizeof(err)),
		  ==, -EACCES);
	CHECK_STR(err, "the server says: Wrong username or password (code 40)");
	const char *other = "{\"subsonic-response\": {\"status\": \"failed\","
		" \"error\": {\"code\": 70}}}";
	CHECK_INT(feed_parse_subsonic(other, strlen(other), "x.y", items,
				      MAX_ITEMS, &n, err, sizeof(err)), ==, -EPROTO);
	CHECK_INT(feed_parse_subsonic("<html/>", 7, "x.y", items, MAX_ITEMS, &n,
				      err, sizeof(err)), ==, -EBADMSG);
	CHECK_INT(feed_parse_subsonic("{\"a\": 1}", 8, "x.y", items, MAX_ITEMS,
				      &n, err, sizeof(err)), ==, -EBADMSG);

	const char *lists = "{\"subsonic-response\": {\"status\": \"ok\","
		" \"playlists\": {\"playlist\": [{\"id\": \"p1\", \"name\": \"Warmup\"},"
		" {\"id\": \"p2\", \"name\": \"Peak\"}, {\"name\": \"Peak\"}]}}}";
	char ids[4][FEED_TEXT_MAX];
	CHECK_INT(feed_parse_subsonic_ids(lists, strlen(lists), "playlists.playlist",
					  "name", "Peak", ids, 4, &n, err,
					  sizeof(err)), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_STR(ids[0], "p2");
	CHECK_INT(feed_parse_subsonic_ids(lists, strlen(lists), "playlists.playlist",
					  NULL, NULL, ids, 1, &n, err,
					  sizeof(err)), ==, 0);
	CHECK_INT(n, ==, 1);
	CHECK_STR(ids[0], "p1");
}

static void test_jamendo(void)
{
	const char *ok =
		"{\"headers\": {\"status\": \"success\", \"code\": 0, \"results_count\": 3},"
		" \"results\": ["
		"{\"id\": \"101\", \"name\": \"Hit\", \"artist_name\": \"J\", \"duration\": 200,"
		" \"audio\": \"https://x/?trackid=101&from=app-abc\", \"image\": \"https://x/i.jpg\","
		" \"musicinfo\": {\"tags\": {\"genres\": [\"electronic\", \"house\"]}}},"
		"{\"id\": \"104\", \"name\": \"Album art\", \"album_name\": \"EP\","
		" \"audio\": \"https://x/104.mp3\", \"image\": \"\", \"album_image\": \"https://x/a.jpg\","
		" \"musicinfo\": {\"tags\": {\"genres\": []}}},"
		"{\"id\": \"102\", \"name\": \"No audio\"},"
		"{\"id\": \"103\", \"audio\": \"file:///etc/passwd\"}"
		"]}";
	size_t n;

	CHECK_INT(feed_parse_jamendo(ok, strlen(ok), items, MAX_ITEMS, &n, err,
				     sizeof(err)), ==, 0);
	CHECK_INT(n, ==, 2);
	CHECK_STR(items[0].id, "101");
	CHECK_STR(items[0].title, "Hit");
	CHECK_STR(items[0].artist, "J");
	CHECK_STR(items[0].genre, "electronic, house");
	CHECK_STR(items[0].album, "");
	CHECK_STR(items[0].url, "https://x/?trackid=101&from=app-abc");
	CHECK_STR(items[0].cover_url, "https://x/i.jpg");
	CHECK_NEAR(items[0].duration_s, 200, 1e-9);
	CHECK_STR(items[1].album, "EP");
	CHECK_STR(items[1].genre, "");
	CHECK_STR(items[1].cover_url, "https://x/a.jpg");

	const char *bad = "{\"headers\": {\"status\": \"failed\", \"code\": 5,"
		" \"error_message\": \"Your credential is not authorized.\"},"
		" \"results\": []}";
	CHECK_INT(feed_parse_jamendo(bad, strlen(bad), items, MAX_ITEMS, &n, err,
				     sizeof(err)), ==, -EACCES);
	CHECK(strstr(err, "not authorized"));
	CHECK_INT(feed_parse_jamendo("[]", 2, items, MAX_ITEMS, &n, err,
				     sizeof(err)), ==, -EBADMSG);
	CHECK_INT(feed_parse_jamendo("nope", 4, items, MAX_ITEMS, &n, err,
				     sizeof(err)), ==, -EBADMSG);
}

int main(void)
{
	test_rss();
	test_atom();
	test_hostile();
	test_helpers();
	test_subsonic();
	test_jamendo();
	return 0;
}
