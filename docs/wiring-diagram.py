"""Draws docs/wiring.svg, the wiring diagram of docs/wiring.md: python3 docs/wiring-diagram.py [OUT]

Plain SVG written by hand-placed coordinates (no dependency); edit here and re-run rather than
editing the SVG. Pins and addresses are the defaults of systemd/station.toml.
"""
from pathlib import Path

W, H = 1280, 960
out = []
def add(s): out.append(s)
RED, BLK, BLU, YEL, GRN, WHT, GRY = "#d62728", "#222222", "#1f5fbf", "#e0a800", "#2ca02c", "#9a9a9a", "#888888"
def line(pts, color, w=2.5, dash=None):
    d = " ".join(f"{'M' if i == 0 else 'L'}{x},{y}" for i, (x, y) in enumerate(pts))
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    add(f'<path d="{d}" fill="none" stroke="{color}" stroke-width="{w}" stroke-linejoin="round"{extra}/>')
def dot(x, y, color=BLK, r=4): add(f'<circle cx="{x}" cy="{y}" r="{r}" fill="{color}"/>')
def text(x, y, s, size=13, anchor="start", weight="normal", color="#111", italic=False):
    st = ' font-style="italic"' if italic else ""
    add(f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" fill="{color}"{st}>{s}</text>')
def box(x, y, w, h, title, sub=None, fill="#f4f7fb"):
    add(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="#333" stroke-width="1.5"/>')
    text(x + w / 2, y + 18, title, 14, "middle", "bold")
    if sub:
        text(x + w / 2, y + 34, sub, 11.5, "middle", color="#444")

add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="DejaVu Sans, Arial, sans-serif">')
add(f'<rect width="{W}" height="{H}" fill="white"/>')
text(30, 36, "Balance station wiring (default configuration)", 22, weight="bold")
text(30, 58, "GPIO numbers are BCM (as in station.toml); \"pin\" numbers are the Pi's 40-pin header. Wire colours follow Qwiic/STEMMA QT: red 3V3, black GND, blue SDA, yellow SCL.", 12.5, color="#333")

# -- Pi header strip ------------------------------------------------------------------------
pins = [(1, "3V3"), (2, "5V"), (3, "GPIO2  SDA"), (5, "GPIO3  SCL"), (6, "GND"), (11, "GPIO17 button"),
        (13, "GPIO27 buzzer"), (15, "GPIO22 LED"), (17, "3V3"), (29, "GPIO5  gate start"), (31, "GPIO6  gate end"), (39, "GND")]
px, py0, dy = 40, 100, 38
box(px, py0 - 20, 230, 48 + dy * len(pins), "Raspberry Pi", "40-pin header: pins used")
pin_y = {}
for i, (n, name) in enumerate(pins):
    y = py0 + 40 + i * dy
    pin_y[n] = y
    add(f'<rect x="{px + 12}" y="{y - 11}" width="34" height="22" rx="3" fill="#fff" stroke="#666"/>')
    text(px + 29, y + 5, str(n), 12, "middle", "bold")
    text(px + 56, y + 5, name, 12.5)
    dot(px + 230, y, "#333", 4)
PX = px + 230

# -- main I2C and power buses (vertical) ------------------------------------------------------
bus = {"3V3": (300, RED), "GND": (316, BLK), "SDA": (332, BLU), "SCL": (348, YEL)}
top, bottom = 96, 560
for name, (x, c) in bus.items():
    line([(x, top), (x, bottom)], c, 3)
    text(x, bottom + 14 + 12 * list(bus).index(name), name, 10.5, "middle", "bold", c)
for n, b in ((1, "3V3"), (6, "GND"), (3, "SDA"), (5, "SCL")):
    line([(PX, pin_y[n]), (bus[b][0], pin_y[n])], bus[b][1], 2.5)
    dot(bus[b][0], pin_y[n], bus[b][1])
line([(PX, pin_y[39]), (bus["GND"][0], pin_y[39])], BLK, 2.5); dot(bus["GND"][0], pin_y[39], BLK)

# -- TCA9548A -----------------------------------------------------------------------------------
mx, my, mw, mh = 420, 96, 170, 300
box(mx, my, mw, mh, "TCA9548A", "I2C mux at 0x70")
left = [("VIN", "3V3"), ("GND", "GND"), ("SDA", "SDA"), ("SCL", "SCL")]
for i, (label, b) in enumerate(left):
    y = my + 70 + i * 30
    text(mx + 8, y + 4, label, 11.5)
    line([(bus[b][0], y), (mx, y)], bus[b][1], 2.5)
    dot(bus[b][0], y, bus[b][1])
text(mx + 8, my + 205, "A0 A1 A2: open", 11, color="#444")
text(mx + 8, my + 220, "(to GND) = 0x70", 11, color="#444")
text(mx + 8, my + 240, "RST: pulled up", 11, color="#444")
text(mx + 8, my + 260, "on the board", 11, color="#444")

# -- NAU7802 x4 and load cells ------------------------------------------------------------------
corners = [("FL", 0), ("FR", 1), ("BL", 2), ("BR", 3)]
nx, nw, nh, ny0, ngap = 700, 150, 92, 86, 14
rail3, railg = 668, 680
last = ny0 + 3 * (nh + ngap)
line([(bus["3V3"][0], 84), (rail3, 84), (rail3, last + 48)], RED, 2.5)
line([(bus["GND"][0], 90), (railg, 90), (railg, last + 60)], BLK, 2.5)
line([(bus["3V3"][0], 84), (bus["3V3"][0], top)], RED, 3)
line([(bus["GND"][0], 90), (bus["GND"][0], top)], BLK, 3)
for k, (name, ch) in enumerate(corners):
    y0 = ny0 + k * (nh + ngap)
    box(nx, y0, nw, nh, f"NAU7802  {name}", f"0x2A, mux channel {ch}")
    ys = [y0 + 48, y0 + 60, y0 + 72, y0 + 84]
    # power
    line([(rail3, ys[0]), (nx, ys[0])], RED, 2); dot(rail3, ys[0], RED, 3)
    line([(railg, ys[1]), (nx, ys[1])], BLK, 2); dot(railg, ys[1], BLK, 3)
    # channel SDn / SCn from the mux
    yy = my + 60 + k * 55
    text(mx + mw - 8, yy + 4, f"SD{ch}", 11, "end"); text(mx + mw - 8, yy + 20, f"SC{ch}", 11, "end")
    xa, xb = 610 + k * 12, 616 + k * 12
    line([(mx + mw, yy), (xa, yy), (xa, ys[2]), (nx, ys[2])], BLU, 2)
    line([(mx + mw, yy + 16), (xb, yy + 16), (xb, ys[3]), (nx, ys[3])], YEL, 2)
    # load cell
    cx = 960
    add(f'<rect x="{cx}" y="{y0 + 14}" width="130" height="64" rx="4" fill="#fff7e6" stroke="#333"/>')
    text(cx + 65, y0 + 40, f"load cell {name}", 13, "middle", "bold")
    text(cx + 65, y0 + 58, "full bridge", 11, "middle", color="#444")
    for j, (lab, col) in enumerate((("E+", RED), ("E−", BLK), ("A+", GRN), ("A−", WHT))):
        y = y0 + 22 + j * 16
        line([(nx + nw, y), (cx, y)], col, 2)
        text(nx + nw + 6, y - 3, lab, 10, color="#333")
text(700, ny0 + 4 * (nh + ngap) + 8, "each NAU7802: 3V3 and GND from the Pi's rails", 11, color="#444")

# -- IMU -----------------------------------------------------------------------------------------
ix, iy = 420, 440
box(ix, iy, 218, 112, "IMU on the main bus", "LSM6DSOX 0x6A or MPU-6050 0x68")
for i, (label, b) in enumerate((("VIN", "3V3"), ("GND", "GND"), ("SDA", "SDA"), ("SCL", "SCL"))):
    y = iy + 50 + i * 15
    text(ix + 8, y + 4, label, 10.5)
    line([(bus[b][0], y), (ix, y)], bus[b][1], 2)
    dot(bus[b][0], y, bus[b][1], 3)
text(ix + 80, iy + 66, "worn at the lower back:", 11, color="#444")
text(ix + 80, iy + 81, "4-wire cable ≤ 1 m", 11, color="#444")
text(ix + 80, iy + 96, "(or an I2C extender)", 11, color="#444")

# -- panel: button, buzzer, LED, gates ------------------------------------------------------------
gy = 915  # ground line of the panel section
line([(bus["GND"][0], bottom), (bus["GND"][0], gy), (1000, gy)], BLK, 2.5)
text(1004, gy + 4, "GND", 11, weight="bold", color=BLK)

def route(pin, x_turn, y_row, x_end, color):
    line([(PX, pin_y[pin]), (x_turn, pin_y[pin]), (x_turn, y_row), (x_end, y_row)], color, 2)

# button (GPIO17, pin 11) -> switch -> GND
bx = 420
route(11, 372, 640, bx, "#6a3d9a")
add(f'<circle cx="{bx + 8}" cy="640" r="4" fill="none" stroke="#333" stroke-width="2"/>')
add(f'<circle cx="{bx + 48}" cy="640" r="4" fill="none" stroke="#333" stroke-width="2"/>')
line([(bx + 10, 636), (bx + 46, 624)], "#333", 2)
line([(bx + 28, 618), (bx + 28, 610)], "#333", 2)
line([(bx + 20, 610), (bx + 36, 610)], "#333", 2)
line([(bx + 52, 640), (bx + 70, 640), (bx + 70, gy)], BLK, 2)
dot(bx + 70, gy, BLK, 3)
text(bx - 2, 672, "button / foot switch (NO)", 11.5)
text(bx - 2, 687, "GPIO17, internal pull-up", 11, color="#444")

# buzzer (GPIO27, pin 13): 5V -> buzzer -> NPN collector; emitter -> GND; base <- 1k <- GPIO27
zx = 730
route(13, 384, 760, zx - 40, "#8c564b")
add(f'<rect x="{zx - 40}" y="752" width="34" height="16" fill="#fff" stroke="#333" stroke-width="1.5"/>')
text(zx - 23, 746, "1 kΩ", 10.5, "middle")
line([(zx - 6, 760), (zx + 10, 760)], "#8c564b", 2)
line([(zx + 10, 742), (zx + 10, 778)], "#333", 3)  # base bar
line([(zx + 10, 752), (zx + 30, 736), (zx + 30, 700)], "#333", 2)   # collector
line([(zx + 10, 768), (zx + 30, 784), (zx + 30, gy)], "#333", 2)    # emitter
add(f'<path d="M{zx + 24},{778} L{zx + 30},{784} L{zx + 22},{786}" fill="none" stroke="#333" stroke-width="2"/>')
dot(zx + 30, gy, BLK, 3)
text(zx + 38, 770, "NPN", 11); text(zx + 38, 784, "2N2222 / BC337", 10.5, color="#444")
add(f'<circle cx="{zx + 30}" cy="672" r="18" fill="#fff" stroke="#333" stroke-width="1.5"/>')
text(zx + 30, 676, "BZ", 11, "middle", "bold")
line([(zx + 30, 690), (zx + 30, 700)], "#333", 2)
line([(PX, pin_y[2]), (364, pin_y[2]), (364, 596), (zx + 30, 596), (zx + 30, 654)], RED, 2.5, dash="7,3")
text(zx + 36, 590, "5V (pin 2)", 11, color=RED)
# flyback diode across the buzzer
line([(zx + 30, 630), (zx + 62, 630), (zx + 62, 700), (zx + 30, 700)], "#555", 1.5)
add(f'<path d="M{zx + 55},{672} L{zx + 69},{672} L{zx + 62},{660} Z" fill="#555"/>')
line([(zx + 55, 658), (zx + 69, 658)], "#555", 2)
text(zx + 72, 668, "1N4148", 10.5, color="#444")
text(zx + 40, 804, "active buzzer (5 V);", 11.5)
text(zx + 40, 818, "GPIO27 drives the transistor", 11, color="#444")

# LED (GPIO22, pin 15) -> 330 ohm -> LED -> GND
lx = 530
route(15, 396, 712, lx, "#17becf")
add(f'<rect x="{lx}" y="704" width="34" height="16" fill="#fff" stroke="#333" stroke-width="1.5"/>')
text(lx + 17, 700, "330 Ω", 10.5, "middle")
line([(lx + 34, 712), (lx + 60, 712)], "#17becf", 2)
add(f'<path d="M{lx + 60},{702} L{lx + 60},{722} L{lx + 78},{712} Z" fill="{GRN}" stroke="#333"/>')
line([(lx + 78, 702), (lx + 78, 722)], "#333", 2)
line([(lx + 78, 712), (lx + 100, 712), (lx + 100, gy)], BLK, 2)
dot(lx + 100, gy, BLK, 3)
text(lx - 20, 738, "status LED", 11.5)
text(lx - 20, 751, "GPIO22 → 330 Ω → LED → GND", 11, color="#444")

# light gates (GPIO5 pin 29, GPIO6 pin 31), powered from 3V3 (pin 17)
line([(PX, pin_y[29]), (408, pin_y[29]), (408, 852), (846, 852)], "#ff7f0e", 2)
line([(PX, pin_y[31]), (402, pin_y[31]), (402, 866), (846, 866)], "#bcbd22", 2)
line([(PX, pin_y[17]), (414, pin_y[17]), (414, 838), (846, 838)], RED, 2)
add(f'<rect x="846" y="826" width="156" height="58" rx="4" fill="#f4fbf4" stroke="#333"/>')
text(924, 844, "light gates (optional)", 11.5, "middle", "bold")
text(924, 860, "receivers: OUT → GPIO5,", 10.5, "middle", color="#444")
text(924, 874, "GPIO6; VCC 3V3; GND", 10.5, "middle", color="#444")
text(430, 834, "3V3 (pin 17)", 10.5, color=RED)
text(1012, 870, "gates: open-collector outputs,", 10.5, color="#444")
text(1012, 884, "low while the beam is broken", 10.5, color="#444")
line([(924, 884), (924, gy)], BLK, 2); dot(924, gy, BLK, 3)

# -- plate geometry inset -------------------------------------------------------------------------
gx, gy0, gw, gh = 1030, 580, 190, 190
add(f'<rect x="{gx - 20}" y="{gy0 - 56}" width="{gw + 60}" height="{gh + 130}" rx="6" fill="#fbfbfb" stroke="#999"/>')
text(gx + gw / 2, gy0 - 34, "plate, seen from above", 13, "middle", "bold")
add(f'<rect x="{gx}" y="{gy0}" width="{gw}" height="{gh}" fill="#eee9df" stroke="#555" stroke-width="2"/>')
cells = {"FL": (gx + 30, gy0 + 30), "FR": (gx + gw - 30, gy0 + 30), "BL": (gx + 30, gy0 + gh - 30), "BR": (gx + gw - 30, gy0 + gh - 30)}
for name, (x, y) in cells.items():
    add(f'<circle cx="{x}" cy="{y}" r="11" fill="#fff7e6" stroke="#333" stroke-width="1.5"/>')
    text(x, y + 4, name, 10, "middle", "bold")
# width (FL-FR centres) and depth (FL-BL centres)
line([(gx + 30, gy0 - 8), (gx + gw - 30, gy0 - 8)], "#333", 1.2)
line([(gx + 30, gy0 - 13), (gx + 30, gy0 - 3)], "#333", 1.2)
line([(gx + gw - 30, gy0 - 13), (gx + gw - 30, gy0 - 3)], "#333", 1.2)
text(gx + gw / 2, gy0 - 13, "width_cm", 11, "middle", color="#000")
line([(gx + gw + 10, gy0 + 30), (gx + gw + 10, gy0 + gh - 30)], "#333", 1.2)
line([(gx + gw + 5, gy0 + 30), (gx + gw + 15, gy0 + 30)], "#333", 1.2)
line([(gx + gw + 5, gy0 + gh - 30), (gx + gw + 15, gy0 + gh - 30)], "#333", 1.2)
add(f'<text x="{gx + gw + 22}" y="{gy0 + gh / 2}" font-size="11" text-anchor="middle" transform="rotate(90 {gx + gw + 22} {gy0 + gh / 2})">depth_cm</text>')
# axes from centre
cxp, cyp = gx + gw / 2, gy0 + gh / 2
line([(cxp, cyp), (cxp, cyp - 55)], "#1f5fbf", 2.2)
add(f'<path d="M{cxp - 6},{cyp - 48} L{cxp},{cyp - 60} L{cxp + 6},{cyp - 48} Z" fill="#1f5fbf"/>')
text(cxp + 6, cyp - 50, "+AP (toes)", 11, color="#1f5fbf")
line([(cxp, cyp), (cxp + 55, cyp)], "#d62728", 2.2)
add(f'<path d="M{cxp + 48},{cyp - 6} L{cxp + 60},{cyp} L{cxp + 48},{cyp + 6} Z" fill="#d62728"/>')
text(cxp + 20, cyp + 18, "+ML (right)", 11, color="#d62728")
dot(cxp, cyp, "#333", 3)
text(gx + gw / 2, gy0 + gh + 24, "front edge = toes; corners as seen", 11, "middle", color="#444")
text(gx + gw / 2, gy0 + gh + 38, "by the person standing on it", 11, "middle", color="#444")
text(gx + gw / 2, gy0 + gh + 54, "measure between load-cell centres", 11, "middle", color="#444")
add("</svg>")
import sys

target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "wiring.svg"
target.write_text("\n".join(out) + "\n", encoding="utf-8")
