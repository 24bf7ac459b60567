package national

import (
	"fmt"
	"strconv"
	"time"

	"github.com/roadcheck/roadcheck/internal/credential"
	"github.com/roadcheck/roadcheck/internal/gm"
)

// MaxIndex bounds licence indices: LicenceID keeps its 20 characters below it.
const MaxIndex = 84_000_000

// Licence names one licence of the world and its status in the newest
// lists (full list and every delta applied).
type Licence struct {
	Issuer string            // 6-digit authority code
	Index  int               // licence index within the issuer
	Status credential.Status // 0 active, 1 revoked, 2 suspended
}

// ID returns the licence id (credential key 4) of l.
func (l Licence) ID() string { return LicenceID(l.Issuer, l.Index) }

// KindOf is the licence kind of index: even indices are vehicles (道路运输证,
// kind 3), odd ones practitioners (从业资格证, kind 1).
func KindOf(index int) credential.Kind {
	if index%2 == 0 {
		return credential.KindVehicle
	}
	return credential.KindPractitioner
}

// LicenceID is the id of licence index of issuer: the 6-digit code, the
// standard of its kind (1292 or 1290), a year 2016+index/1,000,000 and a
// 6-digit serial, e.g. "44010012922016000042". idHash in the status lists
// is credential.IDHash of it.
func LicenceID(issuer string, index int) string {
	var b [20]byte
	appendID(&b, issuer, index)
	return string(b[:])
}

func appendID(b *[20]byte, issuer string, index int) {
	copy(b[:6], issuer)
	std := "1290"
	if KindOf(index) == credential.KindVehicle {
		std = "1292"
	}
	copy(b[6:10], std)
	putDigits(b[10:14], uint64(2016+index/1_000_000))
	putDigits(b[14:20], uint64(index%1_000_000))
}

func putDigits(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + v%10)
		v /= 10
	}
}

// idHash is credential.IDHash without the string conversion.
func idHash(issuer string, index int) [credential.IDHashSize]byte {
	var b [20]byte
	appendID(&b, issuer, index)
	sum := gm.SM3(b[:])
	var h [credential.IDHashSize]byte
	copy(h[:], sum[:])
	return h
}

// Shares of a full list and of a delta.
const (
	suspendedPercent  = 15 // of full-list entries: the rest are revoked
	reinstatedPercent = 15 // of a delta: suspensions lifted (status 0)
	newSuspPercent    = 25 // of a delta: new suspensions; the rest new revocations
)

// entryKey is the per-issuer key of the entry generator.
func entryKey(seed int64, issuer string) uint64 { return labelKey(seed, "entry/"+issuer) }

// fullEntry is the status and since of index in the full list: 85 %
// revoked, 15 % suspended, since spread over the five years before at,
// at least a day before it.
func fullEntry(key uint64, index int, from, span int64) (credential.Status, int64) {
	r := mix64(key ^ (uint64(index)+1)*0x9e3779b97f4a7c15)
	st := credential.StatusRevoked
	if r%100 < suspendedPercent {
		st = credential.StatusSuspended
	}
	return st, from + int64((r>>8)%uint64(span))
}

// sinceWindow is [from, from+span) of full-list since values for at.
func sinceWindow(at time.Time) (from, span int64) {
	from = at.AddDate(-5, 0, 0).Unix()
	return from, at.AddDate(0, 0, -1).Unix() - from
}

// deltaSince is the since of index in the delta published at thisUpdate:
// within the day before it.
func deltaSince(key uint64, index int, thisUpdate int64) int64 {
	r := mix64(key ^ (uint64(index)+1)*0xbf58476d1ce4e5b9 ^ uint64(thisUpdate))
	return thisUpdate - 86400 + int64(r%86400)
}

var (
	surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	given    = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "建国", "志强", "建华", "海燕", "国庆", "红梅", "晓东", "春生", "立新", "桂英"}
	letters  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
)

// credentialFor builds the claims content of licence index of is, valid
// at `at`: issued between 30 and 1,030 days before it, valid six years,
// a vehicle's review due 100 days after it.
func credentialFor(is *Issuer, abbr string, index int, at time.Time) (credential.Credential, time.Time) {
	r := mix64(labelKey(int64(index), "licence/"+is.Code))
	from := at.AddDate(0, 0, -30-int(r%1000))
	from = time.Date(from.In(credential.CST()).Year(), from.In(credential.CST()).Month(), from.In(credential.CST()).Day(), 9, 0, 0, 0, credential.CST())
	id := LicenceID(is.Code, index)
	cr := credential.Credential{
		Version: 1, Kind: KindOf(index), ID: id,
		Authority: is.Name, AuthorityCode: is.Code,
		Issued: credential.DateOf(from), ValidFrom: credential.DateOf(from), ValidUntil: credential.DateOf(from.AddDate(6, 0, -1)),
	}
	serial := fmt.Sprintf("%07d", index%10_000_000)
	if cr.Kind == credential.KindVehicle {
		operator := fmt.Sprintf("%s%s运输有限公司", is.Name[:len(is.Name)-len("交通运输局")], serial[3:])
		cr.Title = "道路运输证"
		cr.Number = fmt.Sprintf("%s交运管%s字%s号", abbr, is.Code, id[14:])
		cr.Holder, cr.HolderIDType, cr.HolderID = operator, credential.HolderIDCreditCode, creditCode("91"+is.Code+"MA"+serial)
		cr.Vehicle = &credential.Vehicle{
			Plate:       fmt.Sprintf("%s%c%05d", abbr, letters[r>>20%uint64(len(letters))], index%100000),
			PlateColour: "黄", Operator: operator,
			OperatorLicence: fmt.Sprintf("%s交运管许可字%s%s号", abbr, is.Code, serial[1:]),
			VehicleType:     "重型厢式货车", Capacity: "18吨", Scope: "道路普通货物运输",
			ReviewUntil: credential.DateOf(at.AddDate(0, 0, 100)),
		}
		return cr, from
	}
	birth := time.Date(1965+int(r>>24%35), time.Month(1+r>>32%12), 1+int(r>>40%28), 0, 0, 0, 0, credential.CST())
	seq := int(r >> 48 % 1000)
	sex := "女"
	if seq%2 == 1 {
		sex = "男"
	}
	rid := residentID(is.Code + birth.Format("20060102") + fmt.Sprintf("%03d", seq))
	cr.Title = "道路运输从业人员从业资格证"
	cr.Number = rid
	cr.Holder = string(surnames[r>>8%uint64(len(surnames))]) + given[r>>16%uint64(len(given))]
	cr.HolderIDType, cr.HolderID = credential.HolderIDResident, rid
	cr.Practitioner = &credential.Practitioner{
		Categories: []string{"道路货物运输驾驶员"}, Sex: sex, BirthDate: credential.DateOf(birth),
		VehicleClass: []string{"A2", "B2", "A1"}[r>>56%3], IntegrityGrade: "AAA", IntegrityDate: credential.DateOf(from.AddDate(1, 0, 0)),
	}
	return cr, from
}

// residentID completes a 17-digit body with its GB 11643 check character.
func residentID(body17 string) string {
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := 0; i < 17; i++ {
		d, _ := strconv.Atoi(body17[i : i+1])
		sum += d * weights[i]
	}
	return body17 + string("10X98765432"[sum%11])
}

// creditCode completes a 17-character unified social credit code body
// (GB 32100, digits and the letters below) with its check character.
func creditCode(body17 string) string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i := 0; i < 17; i++ {
		for j := 0; j < len(chars); j++ {
			if chars[j] == body17[i] {
				sum += j * weights[i]
			}
		}
	}
	return body17 + string(chars[(31-sum%31)%31])
}
