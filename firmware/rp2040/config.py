"""Settings of this front end: edit to match the boards and the wiring, then copy to the board.

The Pi's configuration must agree (``[plate] front_end = "rp2040"``, ``rp2040_address``,
``adc_rate_sps``, ``adc_gain``): the station reads these back from the identity block at
start-up and refuses a mismatch with the reason.
"""

I2C_ADDRESS = 0x42
"""7-bit I2C target address (0x08-0x77; clear of 0x2A, 0x68-0x6B and 0x70-0x77)."""
I2C_ID = 0
"""RP2040 I2C block serving the Pi: I2C0 on GP0 (SDA) / GP1 (SCL)."""
I2C_SDA_PIN = 0
I2C_SCL_PIN = 1
SCK_PIN = 6
"""The shared PD_SCK of the four boards."""
DOUT_BASE_PIN = 2
"""DOUT of FL on GP2, FR on GP3, BL on GP4, BR on GP5 (four pins in a row: the PIO reads them
at once)."""
CHIP = "hx711"
"""``"hx711"`` or ``"hx717"``."""
RATE_SPS = 80
"""What the boards' RATE pins select: HX711 10 or 80; HX717 10, 20, 80 or 320."""
GAIN = 128
"""Channel A gain: 128 (25 pulses) or 64 (27 pulses)."""
