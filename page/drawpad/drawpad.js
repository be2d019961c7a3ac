// The drawing pad: pointer strokes (mouse, pen, touch) on a canvas whose alpha is the ink.
// After each stroke, and after Clear or a new initial image, Python gets
// {png: a PNG data URL or null when blank, base: the token of the image the drawing started from}.

export default function ({ data, parentElement, setStateValue }) {
  const { size, canvas: side, stroke, image, token } = data;
  const canvas = parentElement.querySelector(".drawpad-canvas");
  const clear = parentElement.querySelector(".drawpad-clear");
  const ink = canvas.getContext("2d");
  const cell = side / size;

  const send = (blank) => setStateValue("drawing", { png: blank ? null : canvas.toDataURL("image/png"), base: token });

  if (canvas.dataset.token === undefined) {
    // First mount: the canvas element lives on across later calls, which only bring new data.
    canvas.width = canvas.height = side;
    canvas.style.width = canvas.style.height = `${side}px`;
  }
  canvas.style.backgroundSize = `${cell}px ${cell}px`;
  ink.lineWidth = stroke;
  ink.lineCap = ink.lineJoin = "round";
  ink.strokeStyle = ink.fillStyle = "#000";

  if (canvas.dataset.token !== token) {
    // A new initial image (or none after one): the pad shows it, one square per pixel.
    const fresh = canvas.dataset.token === undefined;
    canvas.dataset.token = token;
    ink.clearRect(0, 0, side, side);
    if (image) {
      image.forEach((value, index) => {
        ink.globalAlpha = Math.min(Math.max(value, 0), 1);
        ink.fillRect((index % size) * cell, Math.floor(index / size) * cell, cell, cell);
      });
      ink.globalAlpha = 1;
    }
    if (image || !fresh) send(!image);
  }

  let last = null;
  const at = (event) => {
    // Measured inside the border, which the bounding box includes.
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left - canvas.clientLeft;
    const y = event.clientY - box.top - canvas.clientTop;
    return [(x * side) / canvas.clientWidth, (y * side) / canvas.clientHeight];
  };
  const down = (event) => {
    if (event.button !== 0) return;
    canvas.setPointerCapture(event.pointerId);
    last = at(event);
    ink.beginPath();
    ink.arc(last[0], last[1], stroke / 2, 0, 2 * Math.PI);
    ink.fill();
  };
  const move = (event) => {
    if (!last) return;
    // Coalesced events keep fast strokes smooth: the browser may merge several moves into one event.
    const points = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    ink.beginPath();
    ink.moveTo(last[0], last[1]);
    for (const point of points.length ? points : [event]) {
      last = at(point);
      ink.lineTo(last[0], last[1]);
    }
    ink.stroke();
  };
  const up = () => {
    if (!last) return;
    last = null;
    send(false);
  };
  const wipe = () => {
    ink.clearRect(0, 0, side, side);
    send(true);
  };

  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  clear.addEventListener("click", wipe);
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", up);
    canvas.removeEventListener("pointercancel", up);
    clear.removeEventListener("click", wipe);
  };
}
