// SPDX-License-Identifier: GPL-3.0-or-later
//
// The listener page: one EventSource on api/events (a browser has six
// connections per host; this page takes one), the stream in one <audio>
// element, and the waveform of what plays drawn on a canvas, scrolling in
// time, in the colour of the track's cover (or of its timbre). During a
// transition both tracks' waveforms are drawn over each other, each where
// its file plays. No framework, no build step, nothing from elsewhere.
//
// Time: the station says when each track and transition is heard as it
// leaves the station (started_at, its wall clock). The page keeps the
// offset between that clock and its own from the resync event (the
// object was made at started_at + elapsed), and draws at that time.
"use strict";

(function () {
	const $ = (id) => document.getElementById(id);
	const WINDOW_S = 24;      // seconds of waveform across the canvas
	const HISTORY_MAX = 20;

	const state = {
		np: null,             // the last /api/nowplaying object
		clockOffset: 0,       // station wall clock - Date.now() / 1000
		waves: new Map(),     // track id -> {peak_ms, peaks, colour}
		transition: null,     // the one being heard: {tr, started_at}
		mount: null,
	};

	function stationNow() {
		return Date.now() / 1000 + state.clockOffset;
	}

	function trackName(song) {
		if (!song) return "";
		if (song.title) return song.title;
		return song.text || "";
	}

	function clockText(s) {
		if (!(s >= 0)) return "";
		s = Math.floor(s);
		const m = Math.floor(s / 60);
		const r = String(s % 60).padStart(2, "0");
		return m + ":" + r;
	}

	// The track's colour, lightened until it shows on the dark canvas.
	function visible(hex) {
		const m = /^#([0-9a-f]{6})$/i.exec(hex || "");
		if (!m) return "#7fd1ff";
		let v = parseInt(m[1], 16);
		let r = v >> 16, g = (v >> 8) & 255, b = v & 255;
		const lum = (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
		if (lum < 0.35) {
			const k = (0.35 - lum) / (1 - lum);
			r = Math.round(r + (255 - r) * k);
			g = Math.round(g + (255 - g) * k);
			b = Math.round(b + (255 - b) * k);
		}
		return "rgb(" + r + "," + g + "," + b + ")";
	}

	function loadWave(song) {
		if (!song || !song.waveform || state.waves.has(song.id)) return;
		state.waves.set(song.id, null); // asked
		fetch(song.waveform).then((r) => r.ok ? r.json() : null)
			.then((w) => {
				if (w && Array.isArray(w.peaks))
					state.waves.set(song.id, w);
				else
					state.waves.delete(song.id);
			}).catch(() => state.waves.delete(song.id));
	}

	// ---------------------------------------------------------------
	// What the page shows.

	function describeTransition(tr) {
		if (!tr) return "";
		if (tr.kind === "beatmatched")
			return "beatmatched over " + tr.bars + " bars" +
				(tr.bpm_from && tr.bpm_to ? ", " +
				 tr.bpm_from.toFixed(1) + " → " +
				 tr.bpm_to.toFixed(1) + " BPM" : "");
		return tr.kind || "";
	}

	function songLine(li, song, how) {
		const sw = document.createElement("span");
		sw.className = "swatch";
		sw.setAttribute("aria-hidden", "true");
		if (song && song.colour) sw.style.background = song.colour;
		const what = document.createElement("span");
		what.className = "what";
		what.textContent = song ? (song.text || trackName(song)) : "";
		const sub = document.createElement("span");
		sub.className = "how";
		sub.textContent = how;
		what.appendChild(sub);
		li.append(sw, what);
	}

	function renderLists() {
		const np = state.np;
		const next = $("next"), hist = $("history");
		next.replaceChildren();
		hist.replaceChildren();
		for (const n of (np && np.playing_next) || []) {
			const li = document.createElement("li");
			songLine(li, n.song, n.transition ?
				 describeTransition(n.transition) : "");
			next.appendChild(li);
			loadWave(n.song);
		}
		for (const h of (np && np.song_history) || []) {
			const li = document.createElement("li");
			const at = new Date(h.played_at * 1000);
			songLine(li, h.song, "at " + at.toLocaleTimeString([],
				 { hour: "2-digit", minute: "2-digit" }));
			hist.appendChild(li);
		}
	}

	function renderNow() {
		const np = state.np;
		const cur = np && np.now_playing;
		const song = cur && cur.song;
		$("title").textContent = song ? trackName(song) :
			(np && np.is_online ? "Silence" : "Off the air");
		$("artist").textContent = song ? song.artist || "" : "";
		const bits = [];
		if (song && song.bpm) bits.push(song.bpm.toFixed(1) + " BPM");
		if (song && song.key) bits.push(song.key);
		if (cur && cur.transition)
			bits.push("in by " + describeTransition(cur.transition));
		$("details").textContent = bits.join(" · ");
		const accent = visible(song && song.colour);
		$("now").style.setProperty("--accent", accent);
		const img = $("cover");
		if (song && song.art) {
			if (img.getAttribute("src") !== song.art)
				img.src = song.art;
			img.alt = "Cover of " + (song.text || trackName(song));
			img.hidden = false;
		} else {
			img.hidden = true;
			img.removeAttribute("src");
			img.alt = "";
		}
		if (song) loadWave(song);
		if (song) document.title = (song.text || trackName(song)) +
			" · foreverfm";
		renderLists();
	}

	function renderStation() {
		const np = state.np;
		if (!np) return;
		if (np.station && np.station.name)
			$("station").textContent = np.station.name;
		const l = np.listeners && np.listeners.current;
		$("status").textContent = "Live" + (l != null ? " · " + l +
			(l === 1 ? " listener" : " listeners") : "");
		chooseMount();
	}

	// ---------------------------------------------------------------
	// The stream.

	function chooseMount() {
		const audio = $("audio");
		const mounts = (state.np && state.np.station &&
				state.np.station.mounts) || [];
		const order = ["mp3", "ogg"];
		const types = { mp3: "audio/mpeg", ogg: "audio/ogg" };
		let pick = null;
		for (const f of order)
			for (const m of mounts)
				if (!pick && m.format === f &&
				    audio.canPlayType(types[f]))
					pick = m;
		state.mount = pick;
		$("play").disabled = !pick;
	}

	function setPlaying(on) {
		const b = $("play");
		b.setAttribute("aria-pressed", on ? "true" : "false");
		$("play-label").textContent = on ? "Pause" : "Play";
	}

	function togglePlay() {
		const audio = $("audio");
		if (!audio.paused) {
			audio.pause();
			// Stop downloading: a paused live stream only grows late.
			audio.removeAttribute("src");
			audio.load();
			setPlaying(false);
			return;
		}
		if (!state.mount) return;
		audio.src = state.mount.url;
		setPlaying(true);
		const p = audio.play();
		if (p && p.catch) p.catch(() => setPlaying(false));
	}

	// ---------------------------------------------------------------
	// The waveform.

	// Where in its file the track heard now plays at station time T.
	function currentPosition(cur, t) {
		let pos = t - cur.started_at;
		const tr = cur.transition;
		if (tr && tr.to_position_s != null && tr.position_s != null &&
		    tr.marker_position_s != null)
			pos += tr.to_position_s + (tr.marker_position_s -
						   tr.position_s);
		return pos;
	}

	function drawWave(ctx, w, h, wave, pos, colour, alpha) {
		if (!wave) return;
		// Each track at its own full height: a quiet track is drawn
		// as tall as a loud one (the shape is what the eye follows).
		if (wave.top === undefined)
			wave.top = Math.max(1, ...wave.peaks);
		const binS = wave.peak_ms / 1000;
		const sPerPx = WINDOW_S / w;
		const mid = h / 2;
		const centre = w / 2;
		ctx.fillStyle = colour;
		for (let x = 0; x < w; x++) {
			const t = pos + (x - centre) * sPerPx;
			if (t < 0) continue;
			const i = Math.floor(t / binS);
			if (i >= wave.peaks.length) break;
			const v = wave.peaks[i] / wave.top;
			const bar = Math.max(1, v * (h - 8) / 2);
			ctx.globalAlpha = alpha * (x < centre ? 0.55 : 1);
			ctx.fillRect(x, mid - bar, 1, 2 * bar);
		}
		ctx.globalAlpha = 1;
	}

	// A track the page knows of (now, next or played), or null.
	function findSong(id) {
		const np = state.np;
		const all = [];
		if (np && np.now_playing) all.push(np.now_playing.song);
		for (const n of (np && np.playing_next) || []) all.push(n.song);
		for (const h of (np && np.song_history) || []) all.push(h.song);
		for (const s of all)
			if (s && s.id === id) return s;
		return null;
	}

	function colourOf(id) {
		const s = findSong(id);
		const w = state.waves.get(id);
		return visible((s && s.colour) || (w && w.colour));
	}

	function frame() {
		const canvas = $("wave");
		const dpr = window.devicePixelRatio || 1;
		const w = Math.round(canvas.clientWidth * dpr);
		const h = Math.round(canvas.clientHeight * dpr);
		if (canvas.width !== w || canvas.height !== h) {
			canvas.width = w;
			canvas.height = h;
		}
		const ctx = canvas.getContext("2d");
		ctx.clearRect(0, 0, w, h);
		const t = stationNow();
		const np = state.np;
		const cur = np && np.now_playing;
		const tr = state.transition;
		let drawn = false;
		if (tr && t < tr.started_at + tr.tr.duration) {
			const d = t - tr.started_at;
			ctx.globalCompositeOperation = "lighter";
			drawWave(ctx, w, h, state.waves.get(tr.tr.from_id),
				 tr.tr.from_position_s + d,
				 colourOf(tr.tr.from_id), 0.75);
			drawWave(ctx, w, h, state.waves.get(tr.tr.to_id),
				 tr.tr.to_position_s + d,
				 colourOf(tr.tr.to_id), 0.75);
			ctx.globalCompositeOperation = "source-over";
			drawn = true;
		} else if (tr) {
			state.transition = null;
			$("transition").textContent = "";
		}
		if (!drawn && cur && cur.song) {
			drawWave(ctx, w, h, state.waves.get(cur.song.id),
				 currentPosition(cur, t), colourOf(cur.song.id), 1);
		}
		// The playhead.
		ctx.fillStyle = "#f2f2f5";
		ctx.fillRect(Math.floor(w / 2), 0, Math.max(1, dpr), h);
		if (cur && cur.song) {
			const el = Math.max(0, t - cur.started_at);
			$("time").textContent = clockText(el) +
				(cur.song.duration ? " of about " +
				 clockText(cur.song.duration) : "");
		}
		requestAnimationFrame(frame);
	}

	// ---------------------------------------------------------------
	// Events.

	// The whole state: at a resync, and a moment after each track change
	// (the next tracks and the history move on; the events say only
	// what changed).
	function setState(np) {
		state.np = np;
		if (np.now_playing && np.now_playing.elapsed != null)
			state.clockOffset = np.now_playing.started_at +
				np.now_playing.elapsed - Date.now() / 1000;
		renderStation();
		renderNow();
	}

	function onResync(e) {
		setState(JSON.parse(e.data));
	}

	let refreshTimer = 0;
	function refreshSoon() {
		clearTimeout(refreshTimer);
		refreshTimer = setTimeout(() => {
			fetch("api/nowplaying").then((r) => r.ok ? r.json() : null)
				.then((np) => { if (np) setState(np); })
				.catch(() => {});
		}, 1500);
	}

	function onTrack(e) {
		const d = JSON.parse(e.data);
		const np = state.np || { song_history: [], playing_next: [] };
		const old = np.now_playing;
		if (old && old.song) {
			np.song_history = [{ played_at: old.played_at,
					     song: old.song }]
				.concat(np.song_history || [])
				.slice(0, HISTORY_MAX);
		}
		np.now_playing = d.now_playing;
		const id = d.now_playing && d.now_playing.song &&
			   d.now_playing.song.id;
		np.playing_next = (np.playing_next || []).filter((n) =>
			!(n.song && n.song.id === id));
		state.np = np;
		renderNow();
		refreshSoon();
	}

	function onTransition(e) {
		const tr = JSON.parse(e.data);
		state.transition = { tr: tr, started_at: tr.started_at };
		loadWave(findSong(tr.from_id));
		loadWave(findSong(tr.to_id));
		$("transition").textContent = "Mixing into " + tr.to + ": " +
			describeTransition(tr);
	}

	function onPlan(e) {
		const d = JSON.parse(e.data);
		if (!state.np) return;
		state.np.playing_next = d.playing_next || [];
		renderLists();
	}

	function connect() {
		const es = new EventSource("api/events");
		es.addEventListener("resync", onResync);
		es.addEventListener("track", onTrack);
		es.addEventListener("transition", onTransition);
		es.addEventListener("plan", onPlan);
		es.onopen = () => { if (state.np) renderStation(); };
		es.onerror = () => {
			$("status").textContent = "Reconnecting…";
		};
	}

	document.addEventListener("DOMContentLoaded", () => {
		$("play").addEventListener("click", togglePlay);
		$("audio").addEventListener("pause", () => setPlaying(false));
		$("audio").addEventListener("playing", () => setPlaying(true));
		connect();
		requestAnimationFrame(frame);
	});
})();
