// FerService browser page: uploads and live webcam analysis through POST /api/emotions. No external assets.
// Every URL is relative to the page, so it also works under a path prefix (/fer/ behind a proxy).
"use strict";

const colours = { angry: "#e0533d", disgust: "#7a9a01", fear: "#8e44ad", happy: "#f2a900", sad: "#2b5fd9", surprise: "#00a6a6", neutral: "#7f8c8d" };

async function analyse(files) {
  const form = new FormData();
  for (const file of files) form.append("images", file, file.name);
  const response = await fetch("api/emotions", { method: "POST", body: form });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
  return body;
}

function drawFaces(canvas, width, height, faces) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, width, height);
  const line = Math.max(2, Math.round(Math.min(width, height) / 200));
  context.font = `${Math.max(12, line * 7)}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  faces.forEach((face, index) => {
    const { x, y, width: w, height: h } = face.box;
    const colour = colours[face.dominantEmotion] || "#fff";
    context.lineWidth = line;
    context.strokeStyle = colour;
    context.strokeRect(x, y, w, h);
    // Numbered like the probability bars below the picture.
    const label = `${index + 1}: ${face.dominantEmotion} ${(face.emotions[face.dominantEmotion] * 100).toFixed(0)}%`;
    const textWidth = context.measureText(label).width + 2 * line;
    const textHeight = line * 9;
    const top = y > textHeight ? y - textHeight : Math.min(y + h, height - textHeight);
    const left = Math.max(0, Math.min(x - line / 2, width - textWidth));
    context.fillStyle = colour;
    context.fillRect(left, top, textWidth, textHeight);
    context.fillStyle = "#fff";
    context.fillText(label, left + line, top + textHeight - line);
    if (face.landmarks) {
      context.fillStyle = "#fff";
      for (const point of Object.values(face.landmarks)) {
        context.beginPath();
        context.arc(point.x, point.y, line, 0, 2 * Math.PI);
        context.fill();
      }
    }
  });
}

function bars(face, index) {
  const container = document.createElement("div");
  container.className = "face";
  const title = document.createElement("h3");
  title.textContent = `Face ${index + 1}: ${face.dominantEmotion}`;
  container.append(title);
  for (const [label, probability] of Object.entries(face.emotions)) {
    const row = document.createElement("div");
    row.className = "bar" + (label === face.dominantEmotion ? " dominant" : "");
    const name = document.createElement("span");
    name.textContent = label;
    const track = document.createElement("div");
    track.className = "track";
    const fill = document.createElement("div");
    fill.className = "fill";
    fill.style.width = `${(probability * 100).toFixed(1)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.textContent = `${(probability * 100).toFixed(1)}%`;
    row.append(name, track, value);
    container.append(row);
  }
  return container;
}

async function showUploads(files) {
  const status = document.getElementById("upload-status");
  const results = document.getElementById("results");
  status.textContent = `Analysing ${files.length} image(s)…`;
  try {
    const body = await analyse(files);
    status.textContent = `${body.images.length} image(s) in ${body.timings.totalMs.toFixed(0)} ms`;
    body.images.forEach((image, i) => {
      const figure = document.getElementById("result-template").content.firstElementChild.cloneNode(true);
      // Attached before drawing: a detached canvas may not resolve fonts, and its labels come out empty.
      results.prepend(figure);
      const caption = figure.querySelector("figcaption");
      if (image.error) {
        figure.querySelector(".stage").remove();
        caption.textContent = `${image.name}: ${image.error.detail}`;
        caption.className = "error";
      } else {
        const img = figure.querySelector("img");
        img.src = URL.createObjectURL(files[i]);
        img.alt = image.name || "uploaded image";
        drawFaces(figure.querySelector("canvas"), image.width, image.height, image.faces);
        caption.textContent = `${image.name}: ${image.faces.length} face(s)`;
        image.faces.forEach((face, f) => figure.querySelector(".faces").append(bars(face, f)));
      }
    });
  } catch (error) {
    status.textContent = error.message;
    status.className = "error";
  }
}

const drop = document.getElementById("drop");
document.getElementById("files").addEventListener("change", event => showUploads([...event.target.files]));
drop.addEventListener("dragover", event => { event.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", event => {
  event.preventDefault();
  drop.classList.remove("over");
  showUploads([...event.dataTransfer.files].filter(file => file.type.startsWith("image/")));
});

// Webcam: frames go over the /api/emotions/stream WebSocket at a steady rate, with at most one in flight, so
// frames are skipped while the server is busy instead of queueing. The server tracks faces and smooths labels.
const frameIntervalMs = 200;
let stream = null;
let socket = null;
let inFlight = false;
let timer = null;
let sentAt = 0;

function liveStatus(text) {
  document.getElementById("live-status").textContent = text;
}

async function sendFrame() {
  const video = document.getElementById("video");
  if (inFlight || !video.videoWidth || !socket || socket.readyState !== WebSocket.OPEN) return;
  inFlight = true;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  const blob = await new Promise(resolve => canvas.toBlob(resolve, "image/jpeg", 0.8));
  sentAt = performance.now();
  socket.send(await blob.arrayBuffer());
}

function onResult(event) {
  inFlight = false;
  const result = JSON.parse(event.data);
  if (result.error) {
    liveStatus(result.error);
    return;
  }
  const faces = result.faces;
  drawFaces(document.getElementById("overlay"), result.width, result.height, faces);
  liveStatus(`frame ${result.frame}: ${faces.map(face => `#${face.track} ${face.dominantEmotion}`).join(", ") || "no face"}`
    + ` · ${(performance.now() - sentAt).toFixed(0)} ms`);
}

function stopCamera(button) {
  clearInterval(timer);
  stream?.getTracks().forEach(track => track.stop());
  socket?.close();
  stream = socket = null;
  inFlight = false;
  button.textContent = "Start webcam";
}

document.getElementById("camera").addEventListener("click", async event => {
  const button = event.currentTarget;
  if (stream) {
    stopCamera(button);
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
    document.getElementById("video").srcObject = stream;
    const url = new URL("api/emotions/stream", location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(url);
    socket.addEventListener("message", onResult);
    socket.addEventListener("close", () => { if (stream) liveStatus("stream closed"); });
    button.textContent = "Stop webcam";
    timer = setInterval(sendFrame, frameIntervalMs);
  } catch (error) {
    liveStatus(`Webcam unavailable: ${error.message}`);
    stopCamera(button);
  }
});

// Video files: POST /api/emotions/video with Accept: application/x-ndjson, so a frame line arrives per analysed frame
// (the progress bar) and the whole timeline last; then one SVG chart per face track, which seeks the video on click.
const svgNs = "http://www.w3.org/2000/svg";

function svg(name, attributes) {
  const element = document.createElementNS(svgNs, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

function timelineChart(track, duration, player) {
  const width = 600, height = 150, left = 34, right = 8, top = 8, bottom = 22;
  const x = seconds => left + (width - left - right) * (duration > 0 ? seconds / duration : 0);
  const y = probability => top + (height - top - bottom) * (1 - probability);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `emotions of face ${track.track} over time` });
  for (const p of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(p), y2: y(p), stroke: "#e6e9f2" }));
    const label = svg("text", { x: left - 4, y: y(p) + 4, "text-anchor": "end", "font-size": 10, fill: "#59627a" });
    label.textContent = `${p * 100}%`;
    chart.append(label);
  }
  for (const [t, anchor] of [[0, "start"], [duration / 2, "middle"], [duration, "end"]]) {
    const label = svg("text", { x: x(t), y: height - 6, "text-anchor": anchor, "font-size": 10, fill: "#59627a" });
    label.textContent = `${t.toFixed(1)} s`;
    chart.append(label);
  }
  for (const emotion of Object.keys(colours)) {
    const points = track.samples.map(sample => `${x(sample.seconds).toFixed(1)},${y(sample.emotions[emotion]).toFixed(1)}`).join(" ");
    chart.append(svg("polyline", { points, fill: "none", stroke: colours[emotion], "stroke-width": 2, "data-emotion": emotion }));
  }
  const cursor = svg("line", { x1: x(0), x2: x(0), y1: top, y2: height - bottom, stroke: "#1d2330", "stroke-dasharray": "3 3" });
  chart.append(cursor);
  player.addEventListener("timeupdate", () => { cursor.setAttribute("x1", x(player.currentTime)); cursor.setAttribute("x2", x(player.currentTime)); });
  chart.addEventListener("click", event => {
    const box = chart.getBoundingClientRect();
    const seconds = ((event.clientX - box.left) / box.width * width - left) / (width - left - right) * duration;
    player.currentTime = Math.max(0, Math.min(duration, seconds));
  });
  return chart;
}

function showTimeline(result, player) {
  const charts = document.getElementById("video-charts");
  charts.replaceChildren();
  const legend = document.createElement("p");
  legend.className = "legend";
  for (const [emotion, colour] of Object.entries(colours)) {
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    item.append(swatch, emotion);
    legend.append(item);
  }
  charts.append(legend);
  if (result.tracks.length === 0) charts.append("No face was found in the sampled frames.");
  for (const track of result.tracks) {
    const figure = document.createElement("figure");
    figure.className = "timeline";
    const title = document.createElement("h3");
    const [top, share] = Object.entries(track.dominantShare).sort((a, b) => b[1] - a[1])[0];
    title.textContent = `Face ${track.track}: ${track.firstSeconds.toFixed(1)}–${track.lastSeconds.toFixed(1)} s, mostly ${top} (${(share * 100).toFixed(0)}% of the time)`;
    figure.append(title, timelineChart(track, result.video.durationSeconds, player));
    charts.append(figure);
  }
}

async function analyseVideo(file) {
  const status = document.getElementById("video-status");
  const progress = document.getElementById("video-progress");
  const player = document.getElementById("video-player");
  status.className = "";
  status.textContent = `Analysing ${file.name}…`;
  progress.hidden = false;
  progress.value = 0;
  document.getElementById("video-result").hidden = false;
  player.src = URL.createObjectURL(file);
  document.getElementById("video-charts").replaceChildren();
  const form = new FormData();
  form.append("video", file, file.name);
  try {
    const response = await fetch("api/emotions/video", { method: "POST", body: form, headers: { Accept: "application/x-ndjson" } });
    if (!response.ok) {
      const problem = await response.json();
      throw new Error(problem.detail || problem.title || `HTTP ${response.status}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (line.type === "frame") {
          progress.value = line.durationSeconds > 0 ? Math.min(1, line.seconds / line.durationSeconds) : 0;
          status.textContent = `${line.seconds.toFixed(1)} s of ${line.durationSeconds.toFixed(1)} s analysed`;
        } else if (line.type === "result") {
          progress.value = 1;
          const video = line.result.video;
          status.textContent = `${video.frames} frames at ${video.sampledFps} fps, ${line.result.tracks.length} face track(s), ${(line.result.totalMs / 1000).toFixed(1)} s`;
          showTimeline(line.result, player);
        } else if (line.type === "error") {
          throw new Error(line.error.detail || line.error.title);
        }
      }
    }
  } catch (error) {
    status.textContent = error.message;
    status.className = "error";
  } finally {
    progress.hidden = true;
  }
}

document.getElementById("video-input").addEventListener("change", event => {
  if (event.target.files.length > 0) analyseVideo(event.target.files[0]);
});
