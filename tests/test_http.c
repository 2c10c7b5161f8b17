/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_http — the status server's pure parts (routes, event ids, listen
 * addresses, unescaping) and the server itself on a loopback port: an
 * address in use is one clear error; GET, HEAD, 405, 404; an event
 * stream that waits suspended and gets the next event at once, and its
 * heartbeat-free idle costs no reads. (Through curl against a running
 * station: tests/integration_http.sh.)
 */
#include "autoconfig.h"

#include "catalog.h"
#include "http.h"
#include "visuals.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

static enum http_route route(const char *p)
{
	return http_route(p, strlen(p), NULL);
}

static void test_parse(void)
{
	CHECK(route("/api/nowplaying") == HTTP_ROUTE_NOWPLAYING);
	CHECK(route("/api/nowplaying/") == HTTP_ROUTE_NOWPLAYING);
	CHECK(route("/api/events") == HTTP_ROUTE_EVENTS);
	CHECK(route("/metrics") == HTTP_ROUTE_METRICS);
	CHECK(route("/metrics//") == HTTP_ROUTE_NONE);
	CHECK(route("/api/../metrics") == HTTP_ROUTE_NONE);
	CHECK(route("/api/nowplayingx") == HTTP_ROUTE_NONE);
	CHECK(route("api/nowplaying") == HTTP_ROUTE_NONE);
	CHECK(route("") == HTTP_ROUTE_NONE);
	CHECK(http_route("/metrics\0x", 10, NULL) == HTTP_ROUTE_NONE);
	CHECK(http_route("/metrics", 7, NULL) == HTTP_ROUTE_NONE);
	CHECK(http_route(NULL, 3, NULL) == HTTP_ROUTE_NONE);
	char big[HTTP_URL_MAX + 2];
	memset(big, '/', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(route(big) == HTTP_ROUTE_NONE);

	/* Tracks' waveforms and covers: a decimal id, nothing else. */
	int64_t arg = 0;
	CHECK(http_route("/api/tracks/42/waveform", 23, &arg) ==
	      HTTP_ROUTE_WAVEFORM && arg == 42);
	CHECK(http_route("/api/tracks/9223372036854775807/cover", 37, &arg) ==
	      HTTP_ROUTE_COVER && arg == INT64_MAX);
	CHECK(route("/api/tracks/7/cover/") == HTTP_ROUTE_COVER);
	CHECK(route("/api/tracks/9223372036854775808/cover") ==
	      HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/12345678901234567890/cover") ==
	      HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/0/cover") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/01/cover") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/-1/cover") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/1/covers") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks//cover") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/1") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/1/../cover") == HTTP_ROUTE_NONE);
	CHECK(route("/api/tracks/1x/waveform") == HTTP_ROUTE_NONE);

	/* The page: its fixed files only, by exact name. */
	arg = -1;
	CHECK(http_route("/", 1, &arg) == HTTP_ROUTE_PAGE);
	CHECK(strcmp(http_page_files[arg].name, "index.html") == 0);
	CHECK(http_route("/app.js", 7, &arg) == HTTP_ROUTE_PAGE);
	CHECK(strcmp(http_page_files[arg].name, "app.js") == 0);
	CHECK(strncmp(http_page_files[arg].type, "text/javascript", 15) == 0);
	CHECK(route("/style.css") == HTTP_ROUTE_PAGE);
	CHECK(route("/index.html") == HTTP_ROUTE_PAGE);
	CHECK(route("/index.html/") == HTTP_ROUTE_NONE);
	CHECK(route("/app.js/..") == HTTP_ROUTE_NONE);
	CHECK(route("/../etc/passwd") == HTTP_ROUTE_NONE);
	CHECK(route("/etc/passwd") == HTTP_ROUTE_NONE);
	CHECK(route("//app.js") == HTTP_ROUTE_NONE);
	CHECK(route("/APP.JS") == HTTP_ROUTE_NONE);
	for (size_t i = 0; i < http_n_page_files; i++) {
		CHECK(strchr(http_page_files[i].name, '/') == NULL);
		CHECK(http_page_files[i].name[0] != '.');
	}

	uint64_t id = 1;
	CHECK(http_parse_event_id("0", &id) == 0 && id == 0);
	CHECK(http_parse_event_id("1234567890123456789", &id) == 0 &&
	      id == 1234567890123456789ULL);
	CHECK(http_parse_event_id("12345678901234567890", &id) == -EINVAL);
	CHECK(http_parse_event_id("", &id) == -EINVAL);
	CHECK(http_parse_event_id("-1", &id) == -EINVAL);
	CHECK(http_parse_event_id("1 ", &id) == -EINVAL);
	CHECK(http_parse_event_id(NULL, &id) == -EINVAL);

	struct sockaddr_storage a;
	unsigned len;
	CHECK(http_parse_listen("127.0.0.1:8090", &a, &len) == 0);
	CHECK(a.ss_family == AF_INET && len == sizeof(struct sockaddr_in));
	CHECK(ntohs(((struct sockaddr_in *)&a)->sin_port) == 8090);
	CHECK(http_parse_listen("[::1]:80", &a, &len) == 0);
	CHECK(a.ss_family == AF_INET6);
	CHECK(http_parse_listen("0.0.0.0:65535", &a, &len) == 0);
	CHECK(http_parse_listen("127.0.0.1:0", &a, &len) == 0);
	CHECK(http_parse_listen("127.0.0.1:65536", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("127.0.0.1", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("8091", &a, &len) == 0);
	CHECK(a.ss_family == AF_INET &&
	      ntohl(((struct sockaddr_in *)&a)->sin_addr.s_addr) ==
	      INADDR_LOOPBACK &&
	      ntohs(((struct sockaddr_in *)&a)->sin_port) == 8091);
	CHECK(http_parse_listen("", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("x80", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("localhost:80", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("::1:80", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("[::1]80", &a, &len) == -EINVAL);
	CHECK(http_parse_listen(":80", &a, &len) == -EINVAL);
	CHECK(http_parse_listen("1.2.3.4:08x", &a, &len) == -EINVAL);

	char s[64];
	snprintf(s, sizeof(s), "/a%%20b%%2fc%%00d%%zz%%4");
	CHECK_INT(http_unescape(s), ==, strlen("/a b/c%00d%zz%4"));
	CHECK_STR(s, "/a b/c%00d%zz%4");
}

/* One request on a fresh connection; the answer (up to MAX bytes, or
 * what came within TIMEOUT_MS) into BUF. */
static size_t request(unsigned port, const char *req, char *buf, size_t max,
		      int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(fd >= 0);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	size_t used = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };
	while (used < max - 1 && poll(&p, 1, timeout_ms) == 1) {
		ssize_t n = read(fd, buf + used, max - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	close(fd);
	return used;
}

static void test_server(void)
{
	struct np_station st;
	memset(&st, 0, sizeof(st));
	snprintf(st.name, sizeof(st.name), "Unit FM");
	struct nowplaying *np = nowplaying_create(&st);
	CHECK(np);
	char err[256];
	struct http_params p = { .listen = "127.0.0.1:0", .max_clients = 8 };
	struct http_server *srv = http_create(&p, np, err, sizeof(err));
	CHECK(srv);
	unsigned port = http_port(srv);
	CHECK(port > 0);
	CHECK(http_start(srv) == 0);

	/* The same port again: one line naming the address and why. */
	char listen[64];
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
	struct http_params p2 = { .listen = listen, .max_clients = 8 };
	errno = 0;
	CHECK(http_create(&p2, np, err, sizeof(err)) == NULL);
	CHECK_INT(errno, ==, EADDRINUSE);
	char want[128];
	snprintf(want, sizeof(want), "http: cannot listen on %s: %s", listen,
		 strerror(EADDRINUSE));
	CHECK_STR(err, want);

	static char buf[65536];
	request(port, "GET /api/nowplaying HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n", buf, sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "application/json"));
	CHECK(strstr(buf, "\"name\":\"Unit FM\""));
	request(port, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n", buf, sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(!strstr(buf, "foreverfm_build_info"));
	request(port, "POST /api/nowplaying HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 3\r\nConnection: close\r\n\r\nabc", buf,
		sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 405", 12) == 0);
	CHECK(strstr(buf, "Allow: GET, HEAD"));
	request(port, "DELETE /metrics HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n", buf, sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 405", 12) == 0);
	request(port, "GET /etc/passwd HTTP/1.1\r\nHost: x\r\n"
		"Connection: close\r\n\r\n", buf, sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	/* A request larger than the bound is refused, not buffered. */
	char *huge = malloc(4 * HTTP_REQUEST_MAX);
	CHECK(huge);
	int n = snprintf(huge, 64, "GET /metrics HTTP/1.1\r\nX-Big: ");
	memset(huge + n, 'a', 3 * HTTP_REQUEST_MAX);
	strcpy(huge + n + 3 * HTTP_REQUEST_MAX, "\r\n\r\n");
	request(port, huge, buf, sizeof(buf), 2000);
	CHECK(strncmp(buf, "HTTP/1.1 4", 10) == 0 || buf[0] == '\0');
	free(huge);

	/* An event stream: the state first, then nothing (suspended), then
	 * the next event as soon as there is one. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	const char *req = "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n";
	CHECK(write(fd, req, strlen(req)) == (ssize_t)strlen(req));
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t used = 0;
	while (!strstr(buf, "event: resync") && poll(&pf, 1, 2000) == 1) {
		ssize_t r = read(fd, buf + used, sizeof(buf) - 1 - used);
		CHECK(r > 0);
		used += (size_t)r;
		buf[used] = '\0';
	}
	CHECK(strstr(buf, "text/event-stream"));
	CHECK(strstr(buf, "event: resync"));
	/* Idle: nothing arrives. */
	CHECK(poll(&pf, 1, 300) == 0);
	struct np_track t;
	memset(&t, 0, sizeof(t));
	t.id = 5;
	snprintf(t.text, sizeof(t.text), "Late - Arrival");
	nowplaying_mixer_track(np, 100, &t);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	nowplaying_heard(np, 100, 5, 1e9, 1.0);
	used = 0;
	buf[0] = '\0';
	while (!strstr(buf, "Late - Arrival") && poll(&pf, 1, 2000) == 1) {
		ssize_t r = read(fd, buf + used, sizeof(buf) - 1 - used);
		CHECK(r > 0);
		used += (size_t)r;
		buf[used] = '\0';
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(strstr(buf, "event: track"));
	double lat = (double)(t1.tv_sec - t0.tv_sec) +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("track event %.1f ms after it was heard\n", lat * 1000);
	CHECK(lat < 0.2);

	/* Destroyed with a suspended stream open: ends it cleanly. */
	http_destroy(srv);
	used = 0;
	while (poll(&pf, 1, 2000) == 1) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
	}
	close(fd);
	nowplaying_destroy(np);
	http_destroy(NULL);
}

/* GET with Connection: close; the body (after the headers) in *body. */
static void get(unsigned port, const char *path, char *buf, size_t max,
		const char **body)
{
	char req[512];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\n\r\n", path);
	request(port, req, buf, max, 2000);
	const char *b = strstr(buf, "\r\n\r\n");
	*body = b ? b + 4 : "";
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f);
	CHECK(fwrite(data, 1, len, f) == len);
	CHECK(fclose(f) == 0);
}

/* The page's fixed files from [http] www (nothing else of it), and a
 * track's waveform and cover from the catalog's visuals: the cover is the
 * recorded byte range of the file, sent while it still starts as the
 * recorded image. */
static void test_page_and_visuals(void)
{
	const char *dir = test_tmpdir("http-page");
	char www[4200], path[4300], track[4300];
	snprintf(www, sizeof(www), "%s/www", dir);
	CHECK(mkdir(www, 0755) == 0);
	snprintf(path, sizeof(path), "%s/index.html", www);
	write_file(path, "<p>the page</p>", 15);
	snprintf(path, sizeof(path), "%s/secret.txt", www);
	write_file(path, "secret", 6);
	snprintf(path, sizeof(path), "%s/passwd", dir);
	write_file(path, "root", 4);

	/* A "track": junk, then a PNG of 40 bytes at offset 100. */
	uint8_t bytes[300];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 31 + 7);
	memcpy(bytes + 100, "\x89PNG\r\n\x1a\n", 8);
	snprintf(track, sizeof(track), "%s/track.mp3", dir);
	write_file(track, bytes, sizeof(bytes));
	struct catalog *cat = catalog_open(":memory:");
	CHECK(cat);
	struct decode_info info;
	memset(&info, 0, sizeof(info));
	int64_t id = 0, bare = 0;
	CHECK(catalog_track_put(cat, track, 300, 1, &info, &id) == 0);
	CHECK(catalog_track_put(cat, "/nowhere.mp3", 1, 1, &info, &bare) == 0);
	const char *hash = "00112233445566778899aabbccddeeff";
	CHECK(catalog_track_set_hash(cat, id, hash) == 0);
	static struct visuals v;
	memset(&v, 0, sizeof(v));
	v.version = VISUALS_VERSION;
	v.peak_ms = 100;
	v.n_peaks = 3;
	v.peaks[0] = 0;
	v.peaks[1] = 128;
	v.peaks[2] = 255;
	v.colour = 0x12ab34;
	v.colour_from = VISUALS_COLOUR_COVER;
	v.has_cover = true;
	snprintf(v.cover_type, sizeof(v.cover_type), "image/png");
	v.cover_offset = 100;
	v.cover_length = 40;
	CHECK(catalog_visuals_put(cat, hash, &v) == 0);

	struct np_station st;
	memset(&st, 0, sizeof(st));
	struct nowplaying *np = nowplaying_create(&st);
	CHECK(np);
	char err[256];
	struct http_params p = { .listen = "127.0.0.1:0", .max_clients = 8,
				 .www = www, .cat = cat };
	struct http_server *srv = http_create(&p, np, err, sizeof(err));
	CHECK(srv && http_start(srv) == 0);
	unsigned port = http_port(srv);
	static char buf[65536];
	const char *body;

	get(port, "/", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "text/html"));
	CHECK(strstr(buf, "Content-Security-Policy: default-src 'self'"));
	CHECK_STR(body, "<p>the page</p>");
	get(port, "/secret.txt", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	get(port, "/../passwd", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	get(port, "/%2e%2e/passwd", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	/* A fixed name that the directory lacks. */
	get(port, "/app.js", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);

	char url[64];
	snprintf(url, sizeof(url), "/api/tracks/%lld/waveform", (long long)id);
	get(port, url, buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	char want[256];
	snprintf(want, sizeof(want), "{\"id\":%lld,\"peak_ms\":100,\"colour\":"
		 "\"#12ab34\",\"colour_from\":\"cover\",\"peaks\":[0,128,255]}",
		 (long long)id);
	CHECK_STR(body, want);
	snprintf(url, sizeof(url), "/api/tracks/%lld/cover", (long long)id);
	char req[256];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n"
		 "Connection: close\r\n\r\n", url);
	size_t n = request(port, req, buf, sizeof(buf), 2000);
	const char *b = strstr(buf, "\r\n\r\n");
	CHECK(strncmp(buf, "HTTP/1.1 200", 12) == 0);
	CHECK(strstr(buf, "Content-Type: image/png"));
	CHECK(b && n - (size_t)(b + 4 - buf) == 40);
	CHECK(memcmp(b + 4, bytes + 100, 40) == 0);
	snprintf(url, sizeof(url), "/api/tracks/%lld/cover", (long long)bare);
	get(port, url, buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);

	/* The file changed since: no image there any more, no cover. */
	bytes[100] = 'x';
	write_file(track, bytes, sizeof(bytes));
	snprintf(url, sizeof(url), "/api/tracks/%lld/cover", (long long)id);
	get(port, url, buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	http_destroy(srv);

	/* Without a directory or a catalog: 404s, not crashes. */
	struct http_params q = { .listen = "127.0.0.1:0", .max_clients = 8 };
	srv = http_create(&q, np, err, sizeof(err));
	CHECK(srv && http_start(srv) == 0);
	port = http_port(srv);
	get(port, "/", buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	get(port, url, buf, sizeof(buf), &body);
	CHECK(strncmp(buf, "HTTP/1.1 404", 12) == 0);
	http_destroy(srv);
	nowplaying_destroy(np);
	catalog_close(cat);
	test_sh("rm -rf '%s'", dir);
}

int main(void)
{
	test_parse();
	test_server();
	test_page_and_visuals();
	return 0;
}
