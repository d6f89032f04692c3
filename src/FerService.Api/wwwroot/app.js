// FerService browser page: uploads and live webcam analysis through POST /api/emotions. No external assets.
"use strict";

const colours = { angry: "#e0533d", disgust: "#7a9a01", fear: "#8e44ad", happy: "#f2a900", sad: "#2b5fd9", surprise: "#00a6a6", neutral: "#7f8c8d" };

async function analyse(files) {
  const form = new FormData();
  for (const file of files) form.append("images", file, file.name);
  const response = await fetch("/api/emotions", { method: "POST", body: form });
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
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/emotions/stream`);
    socket.addEventListener("message", onResult);
    socket.addEventListener("close", () => { if (stream) liveStatus("stream closed"); });
    button.textContent = "Stop webcam";
    timer = setInterval(sendFrame, frameIntervalMs);
  } catch (error) {
    liveStatus(`Webcam unavailable: ${error.message}`);
    stopCamera(button);
  }
});
