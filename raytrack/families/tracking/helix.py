"""Charged particles on helices in a solenoid field, propagated from surface to surface.

Every particle is moved at once (numpy across particles): each step finds, for all active
particles and all surfaces of the detector, the analytic helix-cylinder and helix-plane
intersections, keeps the nearest one ahead on the *outgoing* arc, records a hit there and
optionally deflects the direction by multiple scattering. Steps repeat until no particle is left.

Conventions: lengths in mm, momenta in GeV, field in tesla along +z. In a field ``B`` a particle
of charge ``q`` and transverse momentum ``pT`` turns on a circle of radius
``R[mm] = pT / (0.299792458e-3 * B)`` (``R[m] = pT / (0.3 B)``), clockwise seen from +z for
``q * B > 0``. The outgoing arc runs from the current point to the point of largest distance from
the beam axis (half a turn for a particle from the axis); a particle that is moving back towards
the axis after a hit (a looper, or a kink that turned it inwards) stops, as does one whose next
crossing lies outside every surface.

With ``loopers`` a particle instead goes on along its helix for up to ``max_turns`` full turns:
the next crossing is the nearest one ahead within the turn that is left, so a low-pT particle
crosses the same layers again on its way back in; it stops when it leaves the tracker envelope
(the largest radius and ``|z|`` of any surface). With ``energy_loss`` every crossing takes the
minimum-ionising energy of its material from the particle (:data:`MIP_LOSS_PER_X0`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from raytrack.families.tracking.detector import BARREL, Detector

C_LIGHT = 0.299792458e-3
"""GeV per (tesla * mm): ``R[mm] = pT[GeV] / (C_LIGHT * B[T])``."""

PION_MASS = 0.13957
"""GeV; the mass used for the particle velocity in the Highland formula."""

TWO_PI = 2.0 * np.pi

MIP_LOSS_PER_X0 = 0.0363
"""GeV lost per radiation length of silicon by a minimum-ionising particle (1.664 MeV cm2/g *
2.329 g/cm3 * 9.37 cm): the energy loss of a crossing is this times its path in X0."""


def helix_radius(pt: np.ndarray, b_field: float) -> np.ndarray:
    """Transverse radius of curvature in mm of particles with ``pt`` GeV in ``b_field`` tesla."""
    return np.asarray(pt) / (C_LIGHT * b_field)


def highland_theta0(p: np.ndarray, x_over_x0: np.ndarray, mass: float = PION_MASS) -> np.ndarray:
    """RMS plane scattering angle (rad) of a unit-charge particle of momentum ``p`` (GeV).

    Highland's formula (PDG):
    ``13.6 MeV / (beta c p) * sqrt(x/X0) * (1 + 0.038 ln(x/(X0 beta^2)))``.
    """
    p = np.asarray(p, float)
    x = np.maximum(np.asarray(x_over_x0, float), 1e-12)
    beta = p / np.sqrt(p * p + mass * mass)
    return 0.0136 / (beta * p) * np.sqrt(x) * np.maximum(1.0 + 0.038 * np.log(x / beta**2), 0.0)


@dataclass
class Crossings:
    """Hits of all particles in the order they were made (one entry per crossing)."""

    particle: np.ndarray
    """Index of the particle (into the arrays given to :func:`propagate`)."""
    surface: np.ndarray
    step: np.ndarray
    """0 for a particle's first hit, 1 for its second, ..."""
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    momentum: np.ndarray
    """``(n, 3)`` momentum arriving at the crossing (before its scattering and energy loss)."""


def propagate(
    detector: Detector,
    position: np.ndarray,
    momentum: np.ndarray,
    charge: np.ndarray,
    b_field: float,
    *,
    rng: np.random.Generator | None = None,
    material: float | np.ndarray = 0.0,
    energy_loss: bool = False,
    loopers: bool = False,
    max_turns: float = 1.5,
    start_surface: np.ndarray | None = None,
) -> Crossings:
    """Propagate particles through ``detector`` and return their surface crossings.

    Args:
        position: ``(n, 3)`` production points.
        momentum: ``(n, 3)`` momenta at production.
        charge: ``(n,)`` charges (non-zero).
        b_field: Field in tesla along +z (positive).
        rng: Generator for multiple scattering; ``None`` or ``material == 0`` disables it.
        material: Thickness of every layer in radiation lengths at normal incidence (one value,
            or one per surface); the path through a layer grows as ``1 / cos(incidence)``
            (capped at 20x).
        energy_loss: Take ``MIP_LOSS_PER_X0`` times the path in X0 from the energy at every
            crossing (needs ``material``); a particle whose energy falls to its mass stops.
        loopers: Follow particles past their largest radius for up to ``max_turns`` turns.
        start_surface: ``(n,)`` surface each particle starts on (-1: none); it is not hit again
            where the particle starts.
    """
    if b_field <= 0:
        raise ValueError(f"b_field must be positive, but got b_field={b_field}")
    pos = np.array(position, dtype=float).reshape(-1, 3)
    mom = np.array(momentum, dtype=float).reshape(-1, 3)
    q = np.asarray(charge, dtype=float).reshape(-1)
    n = len(pos)
    det = detector
    x0_of = np.broadcast_to(np.asarray(material, float), (det.n_surfaces,))
    scatter = rng is not None and bool(np.any(x0_of > 0))
    b_idx, d_idx = det.barrel_index, det.disk_index
    rho = det.radius[b_idx]
    half = det.half_length[b_idx]
    zd = det.z[d_idx]
    rmin2, rmax2 = det.r_min[d_idx] ** 2, det.r_max[d_idx] ** 2
    n_b = len(b_idx)
    surf_order = np.concatenate([b_idx, d_idx])  # candidate column -> surface number
    col_of = np.empty(det.n_surfaces, np.int64)
    col_of[surf_order] = np.arange(det.n_surfaces)

    active = np.arange(n)
    last = np.full(n, -1) if start_surface is None else np.asarray(start_surface, np.int64).copy()
    turned = np.zeros(n)
    r_env = float(np.nanmax(np.r_[det.radius, det.r_max])) + 1.0
    z_env = det.z_extent + 1.0
    out: list[tuple[np.ndarray, ...]] = []
    step = 0
    max_steps = 2 * det.n_surfaces + 2
    if loopers:
        max_steps = int(max_steps * (1 + 2 * max_turns))
    while active.size and step < max_steps:
        x0, y0, z0 = pos[active, 0], pos[active, 1], pos[active, 2]
        px, py, pz = mom[active, 0], mom[active, 1], mom[active, 2]
        pt = np.hypot(px, py)
        ok_pt = pt > 0
        pt = np.where(ok_pt, pt, 1e-12)
        R = pt / (C_LIGHT * b_field)
        h = -np.sign(q[active])  # +1: counter-clockwise seen from +z
        phi0 = np.arctan2(py, px)
        cx = x0 - h * R * np.sin(phi0)
        cy = y0 + h * R * np.cos(phi0)
        alpha0 = np.arctan2(y0 - cy, x0 - cx)
        d = np.hypot(cx, cy)
        gamma = np.arctan2(cy, cx)
        t_max = np.mod(h * (gamma - alpha0), TWO_PI)  # turning angle to the largest radius
        lam = pz / pt  # dz per unit transverse arc length
        # Moving towards the axis after a hit: looping back, stop.
        going_out = (step == 0) | (t_max <= np.pi)
        if loopers:
            going_out = np.ones(active.size, bool)
            t_max = _looper_limit(
                R, d, h, gamma, alpha0, z0, lam, max_turns * TWO_PI - turned[active], r_env, z_env
            )

        cand = np.full((active.size, det.n_surfaces), np.inf)
        if n_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                cos_d = (rho[None, :] ** 2 - d[:, None] ** 2 - R[:, None] ** 2) / (
                    2.0 * R[:, None] * d[:, None]
                )
            delta = np.arccos(np.clip(cos_d, -1.0, 1.0))
            base = h[:, None] * (gamma[:, None] - alpha0[:, None])
            t1 = np.mod(base + h[:, None] * delta, TWO_PI)
            t2 = np.mod(base - h[:, None] * delta, TWO_PI)
            if loopers:  # the root at the current point (arc < 1 um) is not a crossing
                t1 = np.where(_at_start(t1, R), np.inf, t1)
                t2 = np.where(_at_start(t2, R), np.inf, t2)
            t = np.minimum(t1, t2)
            zc = z0[:, None] + R[:, None] * lam[:, None] * t
            ok = (np.abs(cos_d) <= 1.0) & (t <= t_max[:, None]) & (np.abs(zc) <= half[None, :])
            cand[:, :n_b] = np.where(ok, t, np.inf)
        if len(d_idx):
            with np.errstate(divide="ignore", invalid="ignore"):
                t = (zd[None, :] - z0[:, None]) / (R[:, None] * lam[:, None])
            ok = np.isfinite(t) & (t > 0) & (t <= t_max[:, None])
            if loopers:
                ok &= ~_at_start(t, R)
            t = np.where(ok, t, 0.0)
            # r^2 on the circle: |c|^2 + R^2 + 2 R |c| cos(alpha - gamma)
            r2 = (d * d + R * R)[:, None] + (2.0 * R * d)[:, None] * np.cos(
                (alpha0 - gamma)[:, None] + h[:, None] * t
            )
            ok &= (r2 >= rmin2[None, :]) & (r2 <= rmax2[None, :])
            cand[:, n_b:] = np.where(ok, t, np.inf)
        # The surface just hit is never hit again on the same outgoing arc.
        has_last = last[active] >= 0
        rows = np.flatnonzero(has_last)
        if not loopers:
            cand[rows, col_of[last[active][rows]]] = np.inf
        cand[~(going_out & ok_pt)] = np.inf

        col = np.argmin(cand, axis=1)
        t_best = cand[np.arange(active.size), col]
        hit = np.isfinite(t_best)
        if not hit.any():
            break
        sel = np.flatnonzero(hit)
        idx = active[sel]
        t_h = t_best[sel]
        a = alpha0[sel] + h[sel] * t_h
        xh = cx[sel] + R[sel] * np.cos(a)
        yh = cy[sel] + R[sel] * np.sin(a)
        zh = z0[sel] + R[sel] * lam[sel] * t_h
        surf = surf_order[col[sel]]
        phi = phi0[sel] + h[sel] * t_h
        new_mom = np.stack([pt[sel] * np.cos(phi), pt[sel] * np.sin(phi), pz[sel]], axis=1)
        out.append((idx, surf, np.full(idx.size, step), xh, yh, zh, new_mom))
        is_barrel = det.kind[surf] == BARREL
        if scatter:
            assert rng is not None
            new_mom = _scatter(rng, new_mom, xh, yh, is_barrel, x0_of[surf])
        alive = np.ones(idx.size, bool)
        if energy_loss:
            new_mom, alive = _lose_energy(new_mom, xh, yh, is_barrel, x0_of[surf])
        pos[idx] = np.stack([xh, yh, zh], axis=1)
        mom[idx] = new_mom
        last[idx] = surf
        turned[idx] += t_h
        active = idx[alive]
        step += 1

    if not out:
        empty_i = np.zeros(0, np.int64)
        empty_f = np.zeros(0, float)
        return Crossings(
            empty_i, empty_i, empty_i, empty_f, empty_f, empty_f, np.zeros((0, 3), float)
        )
    cols = [np.concatenate(c) for c in zip(*out)]
    return Crossings(
        particle=cols[0].astype(np.int64),
        surface=cols[1].astype(np.int64),
        step=cols[2].astype(np.int64),
        x=cols[3],
        y=cols[4],
        z=cols[5],
        momentum=cols[6],
    )


def _at_start(t: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Turning angles within 1 um of arc of the current point (either way round)."""
    arc = np.minimum(t, TWO_PI - t) * R[:, None]
    return arc < 1e-3


def _looper_limit(R, d, h, gamma, alpha0, z0, lam, turn_left, r_env, z_env) -> np.ndarray:
    """Turning angle a looper may still go: its turns left, up to leaving the envelope."""
    limit = np.maximum(turn_left, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # |z| reaches z_env
        t_z = np.where(lam > 0, (z_env - z0) / (R * lam), (-z_env - z0) / (R * lam))
        limit = np.minimum(limit, np.where(np.isfinite(t_z) & (t_z > 0), t_z, np.inf))
    # A circle that reaches beyond r_env leaves the tracker where it first crosses r_env.
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_d = (r_env**2 - d * d - R * R) / (2.0 * R * d)
    reaches = (np.abs(cos_d) <= 1.0) & (d > 0)
    delta = np.arccos(np.clip(cos_d, -1.0, 1.0))
    base = h * (gamma - alpha0)
    t_env = np.minimum(np.mod(base + h * delta, TWO_PI), np.mod(base - h * delta, TWO_PI))
    return np.where(reaches, np.minimum(limit, t_env), limit)


def _lose_energy(mom, x, y, is_barrel, x_over_x0) -> tuple[np.ndarray, np.ndarray]:
    """Momenta after the minimum-ionising loss of one crossing, and which particles go on."""
    p = np.linalg.norm(mom, axis=1)
    r = np.maximum(np.hypot(x, y), 1e-12)
    u = mom / np.maximum(p, 1e-12)[:, None]
    cos_inc = np.where(is_barrel, np.abs(u[:, 0] * x + u[:, 1] * y) / r, np.abs(u[:, 2]))
    loss = MIP_LOSS_PER_X0 * x_over_x0 / np.maximum(cos_inc, 0.05)
    energy = np.sqrt(p * p + PION_MASS**2) - loss
    alive = energy > PION_MASS * 1.001
    p_new = np.sqrt(np.maximum(energy * energy - PION_MASS**2, 0.0))
    return mom * (p_new / np.maximum(p, 1e-12))[:, None], alive


def _scatter(
    rng: np.random.Generator,
    mom: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    is_barrel: np.ndarray,
    material: float,
) -> np.ndarray:
    """Deflect momenta by Gaussian multiple-scattering angles in two orthogonal planes."""
    px, py, pz = mom[:, 0], mom[:, 1], mom[:, 2]
    pt = np.hypot(px, py)
    p = np.hypot(pt, pz)
    ux, uy, uz = px / p, py / p, pz / p
    r = np.maximum(np.hypot(x, y), 1e-12)
    cos_inc = np.where(is_barrel, np.abs(ux * x + uy * y) / r, np.abs(uz))
    theta0 = highland_theta0(p, material / np.maximum(cos_inc, 0.05))
    k1, k2 = rng.standard_normal((2, len(p))) * theta0
    # Orthonormal basis perpendicular to u: e1 = (uy, -ux, 0) / ut, e2 = u x e1.
    ut = np.hypot(ux, uy)
    along_z = ut < 1e-9
    ut = np.where(along_z, 1.0, ut)
    e1x, e1y = np.where(along_z, 1.0, uy / ut), np.where(along_z, 0.0, -ux / ut)
    e2x, e2y, e2z = uy * 0.0 - uz * e1y, uz * e1x, ux * e1y - uy * e1x
    vx = ux + k1 * e1x + k2 * e2x
    vy = uy + k1 * e1y + k2 * e2y
    vz = uz + k2 * e2z
    scale = p / np.sqrt(vx * vx + vy * vy + vz * vz)
    return np.stack([vx * scale, vy * scale, vz * scale], axis=1)
