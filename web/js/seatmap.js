// The seat map: one <button> per seat in a CSS grid, grouped by price zone. Built once per
// schedule with a single innerHTML write; later refreshes only touch the seats whose status
// changed. Keyboard: each zone is one Tab stop (roving tabindex); arrows, Home and End move
// within the zone; Enter/Space picks. Taken seats stay focusable (aria-disabled) so the
// arrow keys never skip over them silently.

const STATUS_TEXT = { AVAILABLE: 'available', HELD: 'held by someone', SOLD: 'sold' };
const ZONE_NAMES = ['VIP', 'R', 'S', 'A', 'B', 'C', 'D', 'E'];

export const won = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'KRW' });

/** Zones by price, most expensive first: [{name, price, seats: [seat]}]. */
const STATUSES = new Set(['AVAILABLE', 'HELD', 'SOLD']);

/** The API's seat, reduced to what the map shows (numbers and a known status only, since the
 *  map is built as HTML text). */
export function cleanSeat(s) {
  return { id: Number(s.id), price: Number(s.price), status: STATUSES.has(s.status) ? s.status : 'SOLD' };
}

export function zonesOf(seats) {
  const byPrice = new Map();
  for (const s of seats.map(cleanSeat)) {
    if (!byPrice.has(s.price)) byPrice.set(s.price, []);
    byPrice.get(s.price).push(s);
  }
  return [...byPrice.keys()].sort((a, b) => b - a).map((price, i) => ({
    name: ZONE_NAMES[i] || `Zone ${i + 1}`,
    price,
    seats: byPrice.get(price).sort((a, b) => a.id - b.id),
  }));
}

function label(seat, zoneName) {
  return `Seat ${seat.id}, ${zoneName} zone, ${won.format(seat.price)}, ${STATUS_TEXT[seat.status] || seat.status}`;
}

export class SeatMap {
  /** @param {HTMLElement} root  @param {(seat) => void} onPick */
  constructor(root, onPick) {
    this.root = root;
    this.onPick = onPick;
    this.buttons = new Map(); // seat id -> button
    this.seats = new Map(); // seat id -> {id, price, status, zone}
    this.zones = [];
    this.busy = false;
    root.addEventListener('click', (e) => {
      const b = e.target.closest('button.seat');
      if (b && root.contains(b)) this.pick(b);
    });
    root.addEventListener('keydown', (e) => this.onKey(e));
    root.addEventListener('focusin', (e) => {
      const b = e.target.closest('button.seat');
      if (b) this.makeTabStop(b);
    });
  }

  /** Replace the whole map (first load or another schedule). */
  render(seats) {
    this.zones = zonesOf(seats);
    this.buttons.clear();
    this.seats.clear();
    const html = [];
    this.zones.forEach((z, zi) => {
      const free = z.seats.filter((s) => s.status === 'AVAILABLE').length;
      html.push(
        `<section class="zone zone-${zi}" role="group" aria-labelledby="zone-h-${zi}">`,
        `<h2 id="zone-h-${zi}" class="zone-title"><span class="zone-name">${z.name}</span> `,
        `<span class="zone-price">${won.format(z.price)}</span> `,
        `<span class="zone-free" id="zone-free-${zi}">${free} of ${z.seats.length} available</span></h2>`,
        `<div class="grid" data-zone="${zi}">`,
      );
      z.seats.forEach((s, i) => {
        html.push(
          `<button type="button" class="seat s-${s.status}" data-id="${s.id}" tabindex="${i === 0 ? 0 : -1}"`,
          s.status === 'AVAILABLE' ? '' : ' aria-disabled="true"',
          ` aria-label="${label(s, z.name)}">${s.id}</button>`,
        );
      });
      html.push('</div></section>');
    });
    this.root.innerHTML = html.join('');
    this.zones.forEach((z, zi) => {
      for (const s of z.seats) this.seats.set(s.id, { ...s, zone: zi });
    });
    for (const b of this.root.querySelectorAll('button.seat')) this.buttons.set(Number(b.dataset.id), b);
  }

  /** Apply a fresh seat list: only changed seats are touched. Returns false when the layout
   *  (the set of seats or their prices) changed and render() is needed instead. */
  update(seats) {
    if (seats.length !== this.seats.size) return false;
    const touchedZones = new Set();
    for (const s of seats.map(cleanSeat)) {
      const cur = this.seats.get(s.id);
      if (!cur || cur.price !== s.price) return false;
      if (cur.status !== s.status) {
        cur.status = s.status;
        this.paint(cur);
        touchedZones.add(cur.zone);
      }
    }
    for (const zi of touchedZones) this.recount(zi);
    return true;
  }

  /** Mark one seat (e.g. the one that just answered 409) without waiting for a refresh. */
  setStatus(id, status) {
    const cur = this.seats.get(id);
    if (!cur || cur.status === status) return;
    cur.status = status;
    this.paint(cur);
    this.recount(cur.zone);
  }

  status(id) {
    return this.seats.get(id)?.status;
  }

  zoneName(id) {
    const s = this.seats.get(id);
    return s ? this.zones[s.zone].name : '';
  }

  counts() {
    let available = 0;
    for (const s of this.seats.values()) if (s.status === 'AVAILABLE') available++;
    return { available, total: this.seats.size };
  }

  paint(s) {
    const b = this.buttons.get(s.id);
    if (!b) return;
    b.className = `seat s-${s.status}`;
    if (s.status === 'AVAILABLE') b.removeAttribute('aria-disabled');
    else b.setAttribute('aria-disabled', 'true');
    b.setAttribute('aria-label', label(s, this.zones[s.zone].name));
  }

  recount(zi) {
    const z = this.zones[zi];
    const free = z.seats.reduce((n, s) => n + (this.seats.get(s.id).status === 'AVAILABLE' ? 1 : 0), 0);
    const el = this.root.querySelector(`#zone-free-${zi}`);
    if (el) el.textContent = `${free} of ${z.seats.length} available`;
  }

  setBusy(busy) {
    this.busy = busy;
    this.root.setAttribute('aria-busy', busy ? 'true' : 'false');
    this.root.classList.toggle('busy', busy);
  }

  pick(b) {
    if (this.busy) return;
    const s = this.seats.get(Number(b.dataset.id));
    if (s) this.onPick({ id: s.id, price: s.price, status: s.status, zone: this.zones[s.zone].name });
  }

  makeTabStop(b) {
    const grid = b.parentElement;
    const prev = grid.querySelector('button.seat[tabindex="0"]');
    if (prev && prev !== b) prev.tabIndex = -1;
    b.tabIndex = 0;
  }

  onKey(e) {
    const b = e.target.closest('button.seat');
    if (!b) return;
    const grid = b.parentElement;
    const list = grid.children;
    const idx = Array.prototype.indexOf.call(list, b);
    const cols = getComputedStyle(grid).gridTemplateColumns.split(' ').filter(Boolean).length || 1;
    let next = -1;
    switch (e.key) {
      case 'ArrowRight': next = idx + 1; break;
      case 'ArrowLeft': next = idx - 1; break;
      case 'ArrowDown': next = idx + cols; break;
      case 'ArrowUp': next = idx - cols; break;
      case 'Home': next = e.ctrlKey ? 0 : idx - (idx % cols); break;
      case 'End': next = e.ctrlKey ? list.length - 1 : Math.min(list.length - 1, idx - (idx % cols) + cols - 1); break;
      default: return;
    }
    e.preventDefault();
    if (next < 0 || next >= list.length) return;
    const t = list[next];
    this.makeTabStop(t);
    t.focus();
  }

  focusSeat(id) {
    const b = this.buttons.get(id);
    if (b) { this.makeTabStop(b); b.focus(); }
  }
}
