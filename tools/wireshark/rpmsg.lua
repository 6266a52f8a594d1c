-- Wireshark dissector for captures written by `rpmsg ... --pcap FILE`
-- (tools/pcap.h): link type DLT_USER0 (147), each record an 8-byte
-- pseudo-header (magic 'R', version, direction, length) and then the rpmsg
-- message as on the wire: the 16-byte rpmsg header (wire-formats.md §1),
-- and the name service's 40-byte message when it goes to address 0x35.
-- The payload is decoded by the service it belongs to, learned from the
-- capture's own name service messages (CREATE and CREATE_ACK name an
-- endpoint of one side): RPMsg Socket ("s:..." endpoints: SYNC with our
-- RSX1 extension and full name, DATA, SHUTDOWN; nuttx-wire.md 3), RPMsg FS
-- ("rpmsgfs-..." endpoints: header, each command's fields, our extension
-- commands 64..68; nuttx-wire.md 2, src/services/fs/fs_wire.h), and the
-- router's control messages (static address 0x3f0 both ways, 88 bytes;
-- src/transport/router/router.c). Records of kind 2 (`rpmsg line --pcap`)
-- are port transport frames as a UART carried them, COBS removed: header,
-- CONNECT/CONNACK hello, the rpmsg messages a DATA frame packs (each
-- decoded as above), the SACK extension and the CRC.
--
-- Use: wireshark -X lua_script:rpmsg.lua FILE, or copy it to
-- ~/.local/lib/wireshark/plugins/ (`make install` puts it in
-- PREFIX/share/rpmsg-stack/wireshark/).

local rpmsg = Proto("rpmsg", "RPMsg")
local ns = Proto("rpmsg_ns", "RPMsg name service")

local dirs = { [0] = "sent", [1] = "received" }
local obs_dirs = { [0] = "host>remote", [1] = "remote>host" }
local ns_flags = { [0] = "CREATE", [1] = "DESTROY", [2] = "CREATE_ACK" }

local f = rpmsg.fields
f.dir = ProtoField.uint8("rpmsg.dir", "Direction", base.DEC, dirs)
f.pflags = ProtoField.uint8("rpmsg.pflags", "Capture flags", base.HEX)
f.observed = ProtoField.bool("rpmsg.observed", "Observed in shared memory (direction: the host's)", 8, nil, 0x01)
f.lost = ProtoField.bool("rpmsg.lost", "Seen too late: contents unknown", 8, nil, 0x02)
f.msg_len = ProtoField.uint32("rpmsg.msg_len", "Message length", base.DEC)
f.src = ProtoField.uint32("rpmsg.src", "Source address", base.HEX)
f.dst = ProtoField.uint32("rpmsg.dst", "Destination address", base.HEX)
f.reserved = ProtoField.uint32("rpmsg.reserved", "Reserved", base.HEX)
f.len = ProtoField.uint16("rpmsg.len", "Payload length", base.DEC)
f.flags = ProtoField.uint16("rpmsg.flags", "Flags", base.HEX)
f.payload = ProtoField.bytes("rpmsg.payload", "Payload")

local g = ns.fields
g.name = ProtoField.string("rpmsg_ns.name", "Name")
g.addr = ProtoField.uint32("rpmsg_ns.addr", "Address", base.HEX)
g.flags = ProtoField.uint32("rpmsg_ns.flags", "Flags", base.DEC, ns_flags)

local NS_ADDR = 0x35
local ROUTER_ADDR = 0x3f0

-- ---- RPMsg Socket ----------------------------------------------------------
local sock = Proto("rpmsg_sock", "RPMsg Socket")
local sock_cmds = { [1] = "SYNC", [2] = "DATA", [3] = "SHUTDOWN" }
local sf = sock.fields
sf.cmd = ProtoField.uint32("rpmsg_sock.cmd", "Command", base.DEC, sock_cmds)
sf.size = ProtoField.uint32("rpmsg_sock.size", "Receive buffer", base.DEC)
sf.pid = ProtoField.uint32("rpmsg_sock.pid", "PID", base.DEC)
sf.uid = ProtoField.uint32("rpmsg_sock.uid", "UID", base.DEC)
sf.gid = ProtoField.uint32("rpmsg_sock.gid", "GID", base.DEC)
sf.ext = ProtoField.uint32("rpmsg_sock.ext", "Extension magic (RSX1)", base.HEX)
sf.full = ProtoField.uint32("rpmsg_sock.full", "Full DATA size", base.DEC)
sf.name = ProtoField.string("rpmsg_sock.name", "Full service name")
sf.pos = ProtoField.uint32("rpmsg_sock.pos", "Consumed (pos)", base.DEC)
sf.len = ProtoField.uint32("rpmsg_sock.len", "Length", base.DEC)
sf.data = ProtoField.bytes("rpmsg_sock.data", "Data")
sf.how = ProtoField.uint32("rpmsg_sock.how", "How", base.DEC,
    { [1] = "SHUT_RD", [2] = "SHUT_WR", [3] = "SHUT_RDWR" })

local function dissect_sock(p, tree)
    if p:len() < 4 then return nil end
    local t = tree:add(sock, p, "RPMsg Socket")
    local cmd = p(0, 4):le_uint()
    t:add_le(sf.cmd, p(0, 4))
    if cmd == 1 and p:len() >= 8 then
        t:add_le(sf.size, p(4, 4))
        if p:len() >= 20 then
            t:add_le(sf.pid, p(8, 4))
            t:add_le(sf.uid, p(12, 4))
            t:add_le(sf.gid, p(16, 4))
        end
        local info = string.format("SYNC size %d", p(4, 4):le_uint())
        if p:len() >= 28 and p(20, 4):le_uint() == 0x31585352 then
            t:add_le(sf.ext, p(20, 4))
            t:add_le(sf.full, p(24, 4))
            info = info .. string.format(" RSX1 full %d", p(24, 4):le_uint())
            if p:len() >= 32 then
                local n = p(28, 4):le_uint()
                if n > 0 and 32 + n <= p:len() then
                    t:add(sf.name, p(32, n))
                    info = info .. " name '" .. p(32, n):string() .. "'"
                end
            end
        end
        return info
    elseif cmd == 2 and p:len() >= 12 then
        t:add_le(sf.pos, p(4, 4))
        t:add_le(sf.len, p(8, 4))
        if p:len() > 12 then t:add(sf.data, p(12)) end
        return string.format("DATA pos %d len %d", p(4, 4):le_uint(), p(8, 4):le_uint())
    elseif cmd == 3 and p:len() >= 8 then
        t:add_le(sf.how, p(4, 4))
        return string.format("SHUTDOWN how %d", p(4, 4):le_uint())
    end
    return "socket ?"
end

-- ---- RPMsg FS ----------------------------------------------------------------
local fs = Proto("rpmsg_fs", "RPMsg FS")
local fs_cmds = { [0] = "INIT", [1] = "OPEN", [2] = "CLOSE", [3] = "READ", [4] = "WRITE",
    [5] = "LSEEK", [6] = "IOCTL", [7] = "SYNC", [8] = "DUP", [9] = "FSTAT", [10] = "FTRUNCATE",
    [11] = "OPENDIR", [12] = "READDIR", [13] = "REWINDDIR", [14] = "CLOSEDIR", [15] = "STATFS",
    [16] = "UNLINK", [17] = "MKDIR", [18] = "RMDIR", [19] = "RENAME", [20] = "STAT",
    [21] = "FCHSTAT", [22] = "CHSTAT", [64] = "X_HELLO", [65] = "X_PREAD", [66] = "X_PWRITE",
    [67] = "X_LSEEK", [68] = "X_FTRUNCATE", [69] = "X_OPEN", [70] = "X_MKDIR", [71] = "X_SYMLINK",
    [72] = "X_LINK", [73] = "X_READLINK", [74] = "X_LSTAT", [75] = "X_PATH" }
local ff = fs.fields
ff.cmd = ProtoField.uint32("rpmsg_fs.cmd", "Command", base.DEC, fs_cmds)
ff.result = ProtoField.int32("rpmsg_fs.result", "Result", base.DEC)
ff.cookie = ProtoField.uint64("rpmsg_fs.cookie", "Cookie", base.HEX)
ff.fd = ProtoField.int32("rpmsg_fs.fd", "fd / handle", base.DEC)
ff.flags = ProtoField.uint32("rpmsg_fs.flags", "Flags", base.HEX)
ff.mode = ProtoField.uint32("rpmsg_fs.mode", "Mode", base.OCT)
ff.count = ProtoField.uint32("rpmsg_fs.count", "Count", base.DEC)
ff.whence = ProtoField.int32("rpmsg_fs.whence", "Whence", base.DEC)
ff.offset = ProtoField.int64("rpmsg_fs.offset", "Offset / length", base.DEC)
ff.ino = ProtoField.uint32("rpmsg_fs.ino", "Inode", base.DEC)
ff.type = ProtoField.uint32("rpmsg_fs.type", "Type", base.DEC)
ff.size = ProtoField.int64("rpmsg_fs.size", "Size", base.DEC)
ff.version = ProtoField.uint32("rpmsg_fs.version", "Extension version", base.DEC)
ff.features = ProtoField.uint32("rpmsg_fs.features", "Extension features", base.HEX)
ff.uid = ProtoField.uint32("rpmsg_fs.uid", "Caller uid", base.DEC)
ff.gid = ProtoField.uint32("rpmsg_fs.gid", "Caller gid", base.DEC)
ff.umask = ProtoField.uint32("rpmsg_fs.umask", "Caller umask", base.OCT)
ff.part = ProtoField.uint32("rpmsg_fs.part", "Path piece", base.DEC)
ff.path = ProtoField.stringz("rpmsg_fs.path", "Path")
ff.path2 = ProtoField.stringz("rpmsg_fs.path2", "New path")
ff.data = ProtoField.bytes("rpmsg_fs.data", "Data")

-- Requests carry result -ENXIO (-6); the server's replies overwrite it.
local function fs_path(t, p, off, field)
    if p:len() > off then
        local s = p(off):stringz()
        t:add(field or ff.path, p(off, math.min(#s + 1, p:len() - off)))
        return s
    end
    return ""
end

local function dissect_fs(p, tree)
    if p:len() < 16 then return nil end
    local t = tree:add(fs, p, "RPMsg FS")
    local cmd = p(0, 4):le_uint()
    local result = p(4, 4):le_int()
    t:add_le(ff.cmd, p(0, 4))
    t:add_le(ff.result, p(4, 4))
    t:add_le(ff.cookie, p(8, 8))
    local request = result == -6 and cmd ~= 64
    local info = string.format("%s %s", fs_cmds[cmd] or tostring(cmd),
        request and "request" or string.format("reply %d", result))
    local n = p:len()
    local path
    if cmd == 1 and n >= 24 then
        t:add_le(ff.flags, p(16, 4)); t:add_le(ff.mode, p(20, 4))
        if request then path = fs_path(t, p, 24) end
    elseif (cmd == 2 or cmd == 7 or cmd == 8 or cmd == 13 or cmd == 14) and n >= 20 then
        t:add_le(ff.fd, p(16, 4))
    elseif (cmd == 3 or cmd == 4) and n >= 24 then
        t:add_le(ff.fd, p(16, 4)); t:add_le(ff.count, p(20, 4))
        if n > 24 then t:add(ff.data, p(24)) end
    elseif cmd == 5 and n >= 28 then
        t:add_le(ff.fd, p(16, 4)); t:add_le(ff.whence, p(20, 4)); t:add_le(ff.offset, p(24, 4))
    elseif cmd == 9 and n >= 108 then
        t:add_le(ff.size, p(32, 8)); t:add_le(ff.fd, p(104, 4))
    elseif cmd == 20 and n >= 104 then
        t:add_le(ff.size, p(32, 8))
        if request then path = fs_path(t, p, 104) end
    elseif cmd == 10 and n >= 24 then
        t:add_le(ff.fd, p(16, 4)); t:add_le(ff.offset, p(20, 4))
    elseif (cmd == 11 or cmd == 16 or cmd == 18) and request then
        path = fs_path(t, p, 16)
    elseif cmd == 12 and n >= 28 then
        t:add_le(ff.fd, p(16, 4)); t:add_le(ff.ino, p(20, 4)); t:add_le(ff.type, p(24, 4))
        if not request then path = fs_path(t, p, 28) end
    elseif cmd == 15 and n >= 80 and request then
        path = fs_path(t, p, 80)
    elseif cmd == 17 and n >= 24 then
        t:add_le(ff.mode, p(16, 4))
        if request then path = fs_path(t, p, 24) end
    elseif (cmd == 19 or cmd == 71 or cmd == 72) and request then
        local base = cmd == 19 and 16 or 40
        if cmd ~= 19 and n >= 40 then
            t:add_le(ff.uid, p(24, 4)); t:add_le(ff.gid, p(28, 4)); t:add_le(ff.umask, p(32, 4))
        end
        path = fs_path(t, p, base)
        local off = base + math.floor((#path + 1 + 7) / 8) * 8
        if n > off then path = path .. " -> " .. fs_path(t, p, off, ff.path2) end
    elseif (cmd == 69 or cmd == 70) and n >= 40 then
        t:add_le(ff.flags, p(16, 4)); t:add_le(ff.mode, p(20, 4))
        t:add_le(ff.uid, p(24, 4)); t:add_le(ff.gid, p(28, 4)); t:add_le(ff.umask, p(32, 4))
        if request then path = fs_path(t, p, 40) end
    elseif cmd == 73 then
        path = fs_path(t, p, 16)
    elseif cmd == 74 and n >= 104 then
        t:add_le(ff.size, p(32, 8))
        if request then path = fs_path(t, p, 104) end
    elseif cmd == 75 and n >= 24 then
        t:add_le(ff.part, p(16, 4)); t:add_le(ff.offset, p(20, 4))
        if n > 24 then t:add(ff.data, p(24)) end
    elseif cmd == 64 and n >= 24 then
        t:add_le(ff.version, p(16, 4)); t:add_le(ff.features, p(20, 4))
        info = string.format("X_HELLO version %d features 0x%x", p(16, 4):le_uint(), p(20, 4):le_uint())
    elseif (cmd == 65 or cmd == 66) and n >= 32 then
        t:add_le(ff.fd, p(16, 4)); t:add_le(ff.count, p(20, 4)); t:add_le(ff.offset, p(24, 8))
        if n > 32 then t:add(ff.data, p(32)) end
    elseif (cmd == 67 or cmd == 68) and n >= 32 then
        t:add_le(ff.fd, p(16, 4))
        if cmd == 67 then t:add_le(ff.whence, p(20, 4)) end
        t:add_le(ff.offset, p(24, 8))
    end
    if path and path ~= "" then info = info .. " '" .. path .. "'" end
    return info
end

-- ---- Router control -------------------------------------------------------------
local rr = Proto("rpmsg_router", "RPMsg router control")
local rr_types = { [1] = "HELLO", [2] = "ROUTE", [3] = "CONNECT", [4] = "ACCEPT",
    [5] = "REJECT", [6] = "DISCONNECT" }
local rf = rr.fields
rf.version = ProtoField.uint8("rpmsg_router.version", "Version", base.DEC)
rf.type = ProtoField.uint8("rpmsg_router.type", "Type", base.DEC, rr_types)
rf.hops = ProtoField.uint8("rpmsg_router.hops", "Hops", base.DEC)
rf.flags = ProtoField.uint8("rpmsg_router.flags", "Flags", base.HEX)
rf.reply = ProtoField.bool("rpmsg_router.reply", "REPLY", 8, nil, 0x01)
rf.hub = ProtoField.bool("rpmsg_router.hub", "HUB", 8, nil, 0x02)
rf.bye = ProtoField.bool("rpmsg_router.bye", "BYE", 8, nil, 0x04)
rf.to = ProtoField.uint32("rpmsg_router.to", "To (tunnel address)", base.HEX)
rf.from = ProtoField.uint32("rpmsg_router.from", "From (tunnel address)", base.HEX)
rf.fwd = ProtoField.uint32("rpmsg_router.fwd", "Largest message forward", base.DEC)
rf.rev = ProtoField.uint32("rpmsg_router.rev", "Largest message back", base.DEC)
rf.features = ProtoField.uint32("rpmsg_router.features", "Features", base.HEX)
rf.name = ProtoField.string("rpmsg_router.name", "Name")
rf.src = ProtoField.string("rpmsg_router.src", "Initiator")

local function dissect_router(p, tree)
    local t = tree:add(rr, p, "RPMsg router control")
    t:add(rf.version, p(0, 1))
    t:add(rf.type, p(1, 1))
    t:add(rf.hops, p(2, 1))
    local fl = t:add(rf.flags, p(3, 1))
    fl:add(rf.reply, p(3, 1)); fl:add(rf.hub, p(3, 1)); fl:add(rf.bye, p(3, 1))
    t:add_le(rf.to, p(4, 4)); t:add_le(rf.from, p(8, 4))
    t:add_le(rf.fwd, p(12, 4)); t:add_le(rf.rev, p(16, 4))
    t:add_le(rf.features, p(20, 4))
    t:add(rf.name, p(24, 32)); t:add(rf.src, p(56, 32))
    local ty = p(1, 1):uint()
    local info = "router " .. (rr_types[ty] or "?") .. " '" .. p(24, 32):stringz() .. "'"
    if ty == 2 then info = info .. string.format(" hops %d", p(2, 1):uint()) end
    if ty == 3 then info = info .. " from '" .. p(56, 32):stringz() .. "'" end
    return info
end

-- Endpoints named by the name service, per side: services[dir][addr].
local services = { [0] = {}, [1] = {} }
local function service_of(dir, src, dst)
    return services[dir][src] or services[1 - dir][dst]
end

-- One rpmsg message (header and payload) in m, into tree t; its summary.
local function dissect_msg(m, t, dir, dn)
    if m:len() < 16 then
        return "short message"
    end
    local src, dst = m(0, 4):le_uint(), m(4, 4):le_uint()
    local plen = m(12, 2):le_uint()
    t:add_le(f.src, m(0, 4))
    t:add_le(f.dst, m(4, 4))
    t:add_le(f.reserved, m(8, 4))
    t:add_le(f.len, m(12, 2))
    t:add_le(f.flags, m(14, 2))
    local info = string.format("%s 0x%x -> 0x%x, %d bytes", dn[dir] or "?", src, dst, plen)
    local avail = m:len() - 16
    if plen > avail then plen = avail end
    if plen == 0 then
        return info
    end
    local p = m(16, plen)
    if dst == NS_ADDR and plen == 40 then
        local n = t:add(ns, p, "Name service")
        local name = p(0, 32):stringz()
        n:add(g.name, p(0, 32))
        n:add_le(g.addr, p(32, 4))
        n:add_le(g.flags, p(36, 4))
        local nf = p(36, 4):le_uint()
        if dir <= 1 then
            if nf == 1 then
                services[dir][p(32, 4):le_uint()] = nil
            else
                services[dir][p(32, 4):le_uint()] = name
            end
        end
        return string.format("%s NS %s '%s' at 0x%x", dn[dir] or "?", ns_flags[nf] or "?", name,
            p(32, 4):le_uint())
    end
    local what
    local svc = dir <= 1 and service_of(dir, src, dst)
    if src == ROUTER_ADDR and dst == ROUTER_ADDR and plen == 88 then
        what = dissect_router(p, t)
    elseif svc and svc:sub(1, 2) == "s:" then
        what = dissect_sock(p, t)
    elseif svc and svc:sub(1, 8) == "rpmsgfs-" then
        what = dissect_fs(p, t)
    else
        t:add(f.payload, p)
    end
    if what then info = info .. " " .. what end
    return info
end

-- ---- Port frames (UART/SPI link layer, src/transport/port/port_wire.h) ----------
local port = Proto("rpmsg_port", "RPMsg port frame")
local port_types = { [1] = "CONNECT", [2] = "CONNACK", [3] = "DATA", [4] = "ACK", [5] = "BYE" }
local pt = port.fields
pt.version = ProtoField.uint8("rpmsg_port.version", "Version", base.DEC, nil, 0xf0)
pt.type = ProtoField.uint8("rpmsg_port.type", "Type", base.DEC, port_types, 0x0f)
pt.flags = ProtoField.uint8("rpmsg_port.flags", "Flags", base.HEX)
pt.poll = ProtoField.bool("rpmsg_port.poll", "POLL", 8, nil, 0x01)
pt.xsack = ProtoField.bool("rpmsg_port.xsack", "XSACK", 8, nil, 0x02)
pt.stag = ProtoField.uint8("rpmsg_port.stag", "Sender tag", base.HEX)
pt.rtag = ProtoField.uint8("rpmsg_port.rtag", "Receiver tag", base.HEX)
pt.seq = ProtoField.uint16("rpmsg_port.seq", "Sequence", base.DEC)
pt.ack = ProtoField.uint16("rpmsg_port.ack", "Ack (next expected)", base.DEC)
pt.limit = ProtoField.uint16("rpmsg_port.limit", "Credit limit", base.DEC)
pt.len = ProtoField.uint16("rpmsg_port.len", "Body length", base.DEC)
pt.sack = ProtoField.uint32("rpmsg_port.sack", "SACK bits", base.HEX)
pt.crc = ProtoField.uint32("rpmsg_port.crc", "CRC-32C", base.HEX)
pt.msgs = ProtoField.uint16("rpmsg_port.msgs", "Messages", base.DEC)
pt.xsack_words = ProtoField.uint8("rpmsg_port.xsack_words", "SACK extension words", base.DEC)
pt.h_version = ProtoField.uint16("rpmsg_port.hello.version", "Hello version", base.DEC)
pt.h_flags = ProtoField.uint16("rpmsg_port.hello.hflags", "Hello flags", base.HEX)
pt.h_multi = ProtoField.bool("rpmsg_port.hello.multi", "MULTI", 16, nil, 0x0001)
pt.h_wide = ProtoField.bool("rpmsg_port.hello.wide", "WIDE", 16, nil, 0x0002)
pt.h_bye = ProtoField.bool("rpmsg_port.hello.bye", "BYE", 16, nil, 0x0004)
pt.h_nonce = ProtoField.uint32("rpmsg_port.hello.nonce", "Nonce", base.HEX)
pt.h_peer_nonce = ProtoField.uint32("rpmsg_port.hello.peer_nonce", "Peer nonce", base.HEX)
pt.h_features = ProtoField.uint32("rpmsg_port.hello.features", "Features", base.HEX)
pt.h_buf_size = ProtoField.uint32("rpmsg_port.hello.rx_buf_size", "RX buffer size", base.DEC)
pt.h_bufs = ProtoField.uint16("rpmsg_port.hello.rx_bufs", "RX buffers", base.DEC)
pt.h_cpu = ProtoField.string("rpmsg_port.hello.cpuname", "CPU name")
pt.raw = ProtoField.bytes("rpmsg_port.raw", "Undecodable bytes (bad COBS)")

local line_dirs = { [0] = "a>b", [1] = "b>a" }

local function dissect_port(fr, tree, dir)
    local t = tree:add(port, fr, "RPMsg port frame")
    if fr:len() < 20 then
        return "short frame"
    end
    t:add(pt.version, fr(0, 1))
    t:add(pt.type, fr(0, 1))
    local fl = t:add(pt.flags, fr(1, 1))
    fl:add(pt.poll, fr(1, 1)); fl:add(pt.xsack, fr(1, 1))
    t:add(pt.stag, fr(2, 1)); t:add(pt.rtag, fr(3, 1))
    t:add_le(pt.seq, fr(4, 2)); t:add_le(pt.ack, fr(6, 2))
    t:add_le(pt.limit, fr(8, 2)); t:add_le(pt.len, fr(10, 2))
    t:add_le(pt.sack, fr(12, 4))
    local ty = fr(0, 1):uint() % 16
    local blen = math.min(fr(10, 2):le_uint(), fr:len() - 20)
    t:add_le(pt.crc, fr(16 + blen, 4))
    local info = string.format("%s %s seq %d ack %d limit %d", line_dirs[dir] or "?",
        port_types[ty] or "?", fr(4, 2):le_uint(), fr(6, 2):le_uint(), fr(8, 2):le_uint())
    if blen == 0 then
        return info
    end
    local body = fr(16, blen)
    if (ty == 1 or ty == 2) and blen >= 56 then
        t:add_le(pt.h_version, body(0, 2))
        local hf = t:add_le(pt.h_flags, body(2, 2))
        hf:add_le(pt.h_multi, body(2, 2)); hf:add_le(pt.h_wide, body(2, 2)); hf:add_le(pt.h_bye, body(2, 2))
        t:add_le(pt.h_nonce, body(4, 4)); t:add_le(pt.h_peer_nonce, body(8, 4))
        t:add_le(pt.h_features, body(12, 4)); t:add_le(pt.h_buf_size, body(16, 4))
        t:add_le(pt.h_bufs, body(20, 2))
        t:add(pt.h_cpu, body(24, 32))
        return info .. " cpu '" .. body(24, 32):stringz() .. "'"
    end
    -- The SACK extension ends the body: n words, then n.
    local mlen = blen
    if math.floor(fr(1, 1):uint() / 2) % 2 == 1 then
        local n = body(blen - 1, 1):uint()
        t:add(pt.xsack_words, body(blen - 1, 1))
        mlen = blen - 1 - 4 * n
    end
    if ty ~= 3 then
        return info
    end
    local off, k = 0, 0
    local inner = {}
    while off + 16 <= mlen do
        local l = 16 + body(off + 12, 2):le_uint()
        if off + l > mlen then break end
        local mt = t:add(rpmsg, body(off, l), "RPMsg message")
        inner[#inner + 1] = dissect_msg(body(off, l), mt, dir, line_dirs)
        off = off + l
        k = k + 1
    end
    t:add(pt.msgs, k)
    return info .. string.format(" %d messages", k) ..
        (k > 0 and (": " .. table.concat(inner, "; ")) or "")
end

function rpmsg.dissector(tvb, pinfo, tree)
    if tvb:len() < 8 or tvb(0, 1):uint() ~= 0x52 then
        return 0
    end
    pinfo.cols.protocol = "RPMsg"
    local t = tree:add(rpmsg, tvb(), "RPMsg")
    local kind = tvb(1, 1):uint()
    local dir = tvb(2, 1):uint()
    t:add(f.dir, tvb(2, 1))
    local pf = t:add(f.pflags, tvb(3, 1))
    pf:add(f.observed, tvb(3, 1))
    pf:add(f.lost, tvb(3, 1))
    t:add_le(f.msg_len, tvb(4, 4))
    local flags = tvb(3, 1):uint()
    local dn = flags % 2 == 1 and obs_dirs or dirs
    if kind == 2 then
        pinfo.cols.protocol = "RPMsg port"
        if math.floor(flags / 4) % 2 == 1 then
            t:add(pt.raw, tvb(8))
            pinfo.cols.info = (line_dirs[dir] or "?") .. " bad COBS"
        elseif tvb:len() > 8 then
            pinfo.cols.info = dissect_port(tvb(8), t, dir)
        end
        return tvb:len()
    end
    if math.floor(flags / 2) % 2 == 1 then
        pinfo.cols.info = string.format("%s seen too late: contents unknown", dn[dir] or "?")
        return tvb:len()
    end
    if tvb:len() < 24 then
        pinfo.cols.info = "short message"
        return tvb:len()
    end
    pinfo.cols.info = dissect_msg(tvb(8), t, dir, dn)
    return tvb:len()
end

DissectorTable.get("wtap_encap"):add(wtap.USER0, rpmsg)
