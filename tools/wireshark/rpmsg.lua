-- Wireshark dissector for captures written by `rpmsg ... --pcap FILE`
-- (tools/pcap.h): link type DLT_USER0 (147), each record an 8-byte
-- pseudo-header (magic 'R', version, direction, length) and then the rpmsg
-- message as on the wire: the 16-byte rpmsg header (wire-formats.md §1),
-- and the name service's 40-byte message when it goes to address 0x35.
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

function rpmsg.dissector(tvb, pinfo, tree)
    if tvb:len() < 8 or tvb(0, 1):uint() ~= 0x52 then
        return 0
    end
    pinfo.cols.protocol = "RPMsg"
    local t = tree:add(rpmsg, tvb(), "RPMsg")
    local dir = tvb(2, 1):uint()
    t:add(f.dir, tvb(2, 1))
    local pf = t:add(f.pflags, tvb(3, 1))
    pf:add(f.observed, tvb(3, 1))
    pf:add(f.lost, tvb(3, 1))
    t:add_le(f.msg_len, tvb(4, 4))
    local flags = tvb(3, 1):uint()
    local dn = flags % 2 == 1 and obs_dirs or dirs
    if math.floor(flags / 2) % 2 == 1 then
        pinfo.cols.info = string.format("%s seen too late: contents unknown", dn[dir] or "?")
        return tvb:len()
    end
    if tvb:len() < 24 then
        pinfo.cols.info = "short message"
        return tvb:len()
    end
    local m = tvb(8)
    if m:len() < 16 then
        pinfo.cols.info = "short message"
        return tvb:len()
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
    if plen > 0 then
        local p = m(16, plen)
        if dst == NS_ADDR and plen == 40 then
            local n = t:add(ns, p, "Name service")
            local name = p(0, 32):stringz()
            n:add(g.name, p(0, 32))
            n:add_le(g.addr, p(32, 4))
            n:add_le(g.flags, p(36, 4))
            info = string.format("%s NS %s '%s' at 0x%x", dn[dir] or "?",
                ns_flags[p(36, 4):le_uint()] or "?", name, p(32, 4):le_uint())
        else
            t:add(f.payload, p)
        end
    end
    pinfo.cols.info = info
    return tvb:len()
end

DissectorTable.get("wtap_encap"):add(wtap.USER0, rpmsg)
