import Testing
@testable import Shared

@Suite struct LineFramerTests {
    @Test func splitsLinesAcrossChunks() {
        var framer = LineFramer(maxLineBytes: 64)
        #expect(framer.push(Array("{\"a\":".utf8)) == [])
        #expect(framer.push(Array("1}\n{\"b\":2}\n{\"c".utf8)) == [.line(Array("{\"a\":1}".utf8)), .line(Array("{\"b\":2}".utf8))])
        #expect(framer.push(Array("\":3}\n".utf8)) == [.line(Array("{\"c\":3}".utf8))])
        #expect(framer.pendingBytes == 0)
    }

    @Test func skipsBlankLines() {
        var framer = LineFramer(maxLineBytes: 64)
        #expect(framer.push(Array("\n\nx\n".utf8)) == [.line([UInt8(ascii: "x")])])
    }

    @Test func reportsAnOversizedLineOnceAndRecovers() {
        var framer = LineFramer(maxLineBytes: 8)
        #expect(framer.push(Array(repeating: UInt8(ascii: "a"), count: 20)) == [.oversized])
        #expect(framer.push(Array(repeating: UInt8(ascii: "a"), count: 20)) == [])
        #expect(framer.pendingBytes == 0)
        #expect(framer.push(Array("aa\nok\n".utf8)) == [.line(Array("ok".utf8))])
    }

    @Test func oversizedLineInOneChunk() {
        var framer = LineFramer(maxLineBytes: 4)
        #expect(framer.push(Array("toolong\nfine\n".utf8)) == [.oversized, .line(Array("fine".utf8))])
    }
}
