/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test_listeners — Icecast's status-json with its quirk: "source" missing
 * (no source connected), an object (one), an array (several); only the
 * station's mounts count; anything else is not a status document.
 */
#include "autoconfig.h"

#include "listeners.h"
#include "testutil.h"

static long parse(const char *json)
{
	static const char *const mounts[] = { "/forever.mp3", "/forever.ogg" };
	return listeners_parse(json, strlen(json), mounts, 2);
}

int main(void)
{
	CHECK_INT(parse("{\"icestats\":{\"admin\":\"x\",\"host\":\"h\"}}"), ==, 0);
	CHECK_INT(parse("{\"icestats\":{\"source\":{\"listenurl\":"
			"\"http://127.0.0.1:8000/forever.mp3\",\"listeners\":3}}}"),
		  ==, 3);
	CHECK_INT(parse("{\"icestats\":{\"source\":["
			"{\"listenurl\":\"http://h:8000/forever.mp3\",\"listeners\":3},"
			"{\"listenurl\":\"http://h:8000/other.mp3\",\"listeners\":50},"
			"{\"listenurl\":\"http://h:8000/forever.ogg\",\"listeners\":2},"
			"{\"listenurl\":\"http://h:8000/silence.mp3\"},"
			"{\"listeners\":7}, 5, null]}}"), ==, 5);
	/* A mount whose name only starts like ours does not count. */
	CHECK_INT(parse("{\"icestats\":{\"source\":{\"listenurl\":"
			"\"http://h:8000/forever.mp3.bak\",\"listeners\":3}}}"),
		  ==, 0);
	CHECK_INT(parse("{\"icestats\":{\"source\":{\"listenurl\":"
			"\"http://h:8000/forever.mp3\",\"listeners\":-4}}}"), ==, 0);
	CHECK_INT(parse("{\"icestats\":{\"source\":\"x\"}}"), ==, 0);
	CHECK_INT(parse("<html>not json</html>"), ==, -EINVAL);
	CHECK_INT(parse("{\"icestats\":[]}"), ==, -EINVAL);
	CHECK_INT(parse("[]"), ==, -EINVAL);
	CHECK_INT(parse(""), ==, -EINVAL);
	return 0;
}
